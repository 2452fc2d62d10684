"""Repeated runs side by side: mean ± std of the final metrics over seeds.

Runs are grouped by their run config with the seed (and where they were
written) left out; each group is labelled by the settings in which the groups
differ, e.g. ``strategy=fedvsr vsr.partitioning=by-domain``. The table has one
row per group and, for each metric, the mean ± sample standard deviation of
the final held-out value over the group's runs.

Usage::

    fedvideo seeds outputs/hetero/*/ --metrics psnr "psnr fine" \
        --baseline-metric psnr_bicubic --plot docs/results/hetero.png \
        --json docs/results/hetero.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.config import default_run_config
from fedvideo.reports.compare import load_results, summary_row
from fedvideo.reports.tables import bar_plot, markdown_table
from fedvideo.utils import CommandError, atomic_write

__all__ = [
    "add_arguments",
    "gain_metrics",
    "group_runs",
    "run",
    "seed_rows",
    "seeds_table",
]

#: Run-config keys that do not make two runs different experiments.
IGNORED_KEYS = frozenset({"seed", "output-dir", "resume", "resume-from"})


def group_runs(
    runs: Sequence[Mapping[str, Any]],
) -> dict[str, list[Mapping[str, Any]]]:
    """Group parsed ``results.json`` by run config, ignoring the seed.

    A key that a run's recorded config lacks (the run predates the setting)
    counts with its current default, which keeps the behaviour from before the
    setting existed.

    Returns
    -------
    dict[str, list]
        Label -> the group's runs, in the order groups first appear. The label
        names the settings that differ between groups (``"all runs"`` if none).
    """
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    defaults = default_run_config()
    for results in runs:
        config = {**defaults, **results["config"]}
        key = tuple(
            sorted((k, repr(v)) for k, v in config.items() if k not in IGNORED_KEYS)
        )
        groups.setdefault(key, []).append(results)
    configs = [dict(key) for key in groups]
    differing = sorted(
        {
            k
            for config in configs
            for k in config
            if len({c.get(k) for c in configs}) > 1
        }
    )
    labels = []
    for config in configs:
        parts = [f"{k}={_plain(config.get(k))}" for k in differing]
        labels.append(" ".join(parts) or "all runs")
    return dict(zip(labels, groups.values(), strict=True))


def _plain(value: str | None) -> str:
    """Drop the quotes of a string config value's repr (``'fedvsr'``)."""
    return "-" if value is None else value.strip("'\"")


def seed_rows(
    groups: Mapping[str, Sequence[Mapping[str, Any]]], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """Mean, standard deviation and values of each metric per group.

    The standard deviation is the sample one (n - 1); with one run it is NaN.
    """
    rows = []
    for label, runs in groups.items():
        row: dict[str, Any] = {
            "group": label,
            "runs": len(runs),
            "seeds": [r["config"].get("seed") for r in runs],
            "status": sorted({r.get("status", "?") for r in runs}),
        }
        for metric in metrics:
            values = [summary_row(r, [metric])[metric] for r in runs]
            row[metric] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else math.nan,
                "values": values,
            }
        rows.append(row)
    return rows


def seeds_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """Render :func:`seed_rows` as Markdown: ``mean ± std`` per metric."""
    header = ["group", "runs", *metrics]
    cells = [
        [
            row["group"],
            str(row["runs"]),
            *(f"{row[m]['mean']:.3f} ± {row[m]['std']:.3f}" for m in metrics),
        ]
        for row in rows
    ]
    return markdown_table(header, cells)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo seeds``."""
    parser.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    parser.add_argument("--metrics", nargs="+", default=["psnr", "ssim"])
    parser.add_argument(
        "--baseline-metric",
        help="also report the gain over this baseline per run, for the metrics it "
        "is a baseline of (psnr_bicubic: psnr and 'psnr <domain>'); the plot "
        "shows the first metric's gain",
    )
    parser.add_argument("--plot", type=Path, help="bar plot of the first metric")
    parser.add_argument("--json", type=Path, help="write the rows here")


def run(args: argparse.Namespace) -> int:
    """Print the mean ± std table; optionally write the JSON rows and a plot."""
    runs = [load_results(r) for r in args.runs]
    if not runs:
        raise CommandError("no runs given")
    metrics = list(args.metrics)
    plotted = metrics[0]
    if args.baseline_metric:
        compared = gain_metrics(metrics, args.baseline_metric)
        runs = [_with_gains(r, compared, args.baseline_metric) for r in runs]
        metrics += [f"{m} - {args.baseline_metric}" for m in compared]
        if plotted in compared:
            plotted = f"{plotted} - {args.baseline_metric}"
    rows = seed_rows(group_runs(runs), metrics)
    print(seeds_table(rows, metrics))
    if args.json:
        text = json.dumps(rows, indent=2) + "\n"
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(text))
    if args.plot:
        bar_plot(
            {row["group"]: (row[plotted]["mean"], row[plotted]["std"]) for row in rows},
            args.plot,
            ylabel=f"final {plotted} (mean ± std over seeds)",
        )
        print(f"plot written to {args.plot}")
    return 0


def gain_metrics(metrics: Sequence[str], baseline: str) -> list[str]:
    """Return the metrics that ``baseline`` is the baseline of.

    ``psnr_bicubic`` is the baseline of ``psnr`` and of the per-domain
    ``psnr fine``, not of ``ssim``.
    """
    return [m for m in metrics if baseline.startswith(m.partition(" ")[0] + "_")]


def _with_gains(
    results: Mapping[str, Any], metrics: Sequence[str], baseline: str
) -> dict[str, Any]:
    """Add ``"<metric> - <baseline>"`` to every evaluated round of a run.

    The baseline of a per-domain metric ``"psnr fine"`` is ``"<baseline> fine"``.
    """
    rounds = []
    for entry in results["rounds"]:
        evaluation = dict(entry.get("evaluation", {}))
        for metric in metrics:
            suffix = metric.partition(" ")[2]
            reference = f"{baseline} {suffix}" if suffix else baseline
            if metric in evaluation and reference in evaluation:
                gain = evaluation[metric] - evaluation[reference]
                evaluation[f"{metric} - {baseline}"] = gain
        rounds.append({**entry, "evaluation": evaluation})
    return {**results, "rounds": rounds}
