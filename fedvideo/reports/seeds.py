"""Repeated runs side by side: mean ± std of the final metrics over seeds.

Runs are grouped by their run config with the seed (and where they were
written) left out; each group is labelled by the settings in which the groups
differ, e.g. ``strategy=fedvsr vsr.partitioning=by-domain``. The table has one
row per group and, for each metric, the mean ± sample standard deviation of
the final held-out value over the group's runs. With ``--paired
strategy=fedavg`` a second table gives, per group, the mean ± std over seeds
of the difference to the run with the same settings and seed but that
strategy: the comparison that seed-to-seed variance (other data, other
initial weights) does not blur. With ``--gain-over-round 0`` each metric is
also reported at that round (the initial model, e.g. the random backbone of
a self-supervised run) and the final value's gain over it, per run. With
``--client-metrics update_norm`` a metric the clients report each round
(e.g. their drift from the global model) is averaged over all clients and
rounds of a run and compared like a held-out metric; ``--ratio`` makes the
paired table give ``run / reference`` instead of the difference.

Usage::

    fedvideo seeds outputs/hetero/*/ --metrics psnr "psnr fine" \
        --baseline-metric psnr_bicubic --paired strategy=fedavg \
        --plot docs/results/hetero.png --json docs/results/hetero.json
    fedvideo seeds outputs/*_ssl_*/ --metrics R@1 R@5 --gain-over-round 0
    fedvideo seeds outputs/drift/*/ --metrics psnr --client-metrics update_norm \
        --paired strategy=fedavg --ratio
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.config import default_run_config, settings_of_task
from fedvideo.reports.compare import load_results, summary_row
from fedvideo.reports.tables import bar_plot, markdown_table
from fedvideo.utils import CommandError, atomic_write

__all__ = [
    "add_arguments",
    "gain_metrics",
    "group_runs",
    "paired_rows",
    "run",
    "seed_rows",
    "seeds_table",
    "with_client_means",
    "with_round_gains",
]

#: Run-config keys that do not make two runs different experiments.
IGNORED_KEYS = frozenset({"seed", "output-dir", "resume", "resume-from"})


def group_runs(
    runs: Sequence[Mapping[str, Any]],
) -> dict[str, list[Mapping[str, Any]]]:
    """Group parsed ``results.json`` by run config, ignoring the seed.

    Numbers compare by value (``alpha = 1`` and ``alpha = 1.0`` are one
    setting). A key that a run's recorded config lacks (the run predates the
    setting) counts with its current default, which keeps the behaviour from before the
    setting existed. The sections of other tasks than the run's are left out
    (:func:`~fedvideo.config.settings_of_task`): their defaults may have
    changed between two runs of the same experiment.

    Returns
    -------
    dict[str, list]
        Label -> the group's runs, in the order groups first appear. The label
        names the settings that differ between groups (``"all runs"`` if none).
    """
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    first_configs: dict[tuple, dict[str, Any]] = {}
    defaults = default_run_config()
    for results in runs:
        config = settings_of_task({**defaults, **results["config"]})
        key = tuple(
            sorted(
                (k, _value_key(v)) for k, v in config.items() if k not in IGNORED_KEYS
            )
        )
        groups.setdefault(key, []).append(results)
        first_configs.setdefault(key, config)
    keys = [dict(key) for key in groups]
    differing = sorted(
        {k for key in keys for k in key if len({other.get(k) for other in keys}) > 1}
    )
    labels = []
    for config in first_configs.values():
        parts = [f"{k}={_plain(_label(config.get(k)))}" for k in differing]
        labels.append(" ".join(parts) or "all runs")
    return dict(zip(labels, groups.values(), strict=True))


def _plain(value: str | None) -> str:
    """Drop the quotes of a string config value's repr (``'fedvsr'``)."""
    return "-" if value is None else value.strip("'\"")


def _spread(values: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (NaN for one value) and the values."""
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return {"mean": statistics.fmean(values), "std": std, "values": values}


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
            row[metric] = _spread(values)
        rows.append(row)
    return rows


def _settings(config: Mapping[str, Any], leave_out: str) -> tuple:
    """Return a run's settings, seed included, less where it ran and ``leave_out``."""
    ignored = (IGNORED_KEYS - {"seed"}) | {leave_out}
    return tuple(
        sorted((k, _value_key(v)) for k, v in config.items() if k not in ignored)
    )


def _label(value: Any) -> str | None:
    """Return a config value as a group label shows it (None: the run lacks it)."""
    return None if value is None else repr(value)


def _value_key(value: Any) -> str:
    """Return a config value as runs compare it: ``1`` and ``1.0`` are one value.

    A TOML file may write a float setting as an integer (``alpha = 1``).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def _matches(value: Any, reference: str) -> bool:
    """Whether a config value equals a command-line value (``0`` matches ``0.0``)."""
    if str(value) == reference:
        return True
    try:
        return float(value) == float(reference)
    except (TypeError, ValueError):
        return False


def paired_rows(
    runs: Sequence[Mapping[str, Any]],
    metrics: Sequence[str],
    key: str,
    reference: str,
    ratio: bool = False,
) -> list[dict[str, Any]]:
    """Per group, the differences to the reference run of the same seed.

    Every run whose ``key`` is not ``reference`` is paired with the run that
    has the same settings and seed but ``key = reference``; runs without such
    a partner are left out. Each row holds, per metric, the mean, the sample
    standard deviation and the values of ``run - reference`` over the pairs
    (``run / reference`` with ``ratio``).
    """
    defaults = default_run_config()
    configs = [settings_of_task({**defaults, **r["config"]}) for r in runs]
    partners = {
        _settings(config, key): run
        for run, config in zip(runs, configs, strict=True)
        if _matches(config.get(key), reference)
    }
    paired = [
        (run, partners[_settings(config, key)])
        for run, config in zip(runs, configs, strict=True)
        if not _matches(config.get(key), reference)
        and _settings(config, key) in partners
    ]
    groups = group_runs([run for run, _ in paired])
    by_run = {id(run): partner for run, partner in paired}
    rows = []
    for label, members in groups.items():
        row: dict[str, Any] = {
            "group": label,
            "pairs": len(members),
            "seeds": [r["config"].get("seed") for r in members],
        }
        for metric in metrics:
            values = [
                _compare(
                    summary_row(r, [metric])[metric],
                    summary_row(by_run[id(r)], [metric])[metric],
                    ratio,
                )
                for r in members
            ]
            row[metric] = _spread(values)
        rows.append(row)
    return rows


def _compare(value: float, reference: float, ratio: bool) -> float:
    """``value / reference`` (NaN for a zero reference) or ``value - reference``."""
    if not ratio:
        return value - reference
    return value / reference if reference else math.nan


def _mean_std(spread: Mapping[str, Any]) -> str:
    """``mean ± std``, or ``value (1 run)`` where one run gives no spread."""
    if math.isnan(spread["std"]):
        return f"{spread['mean']:.3f} (1 run)"
    return f"{spread['mean']:.3f} ± {spread['std']:.3f}"


def seeds_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """Render :func:`seed_rows` as Markdown: ``mean ± std`` per metric.

    A group of one run shows its value and ``(1 run)``: one run has no spread.
    """
    header = ["group", "runs", *metrics]
    cells = [
        [row["group"], str(row["runs"]), *(_mean_std(row[m]) for m in metrics)]
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
    parser.add_argument(
        "--paired",
        metavar="KEY=VALUE",
        help="also tabulate each group's difference to the run with the same "
        "settings and seed but KEY=VALUE (e.g. strategy=fedavg)",
    )
    parser.add_argument(
        "--gain-over-round",
        type=int,
        metavar="ROUND",
        help="also report each metric at this round (0: the initial model) and "
        "the final value's gain over it, per run",
    )
    parser.add_argument(
        "--client-metrics",
        nargs="+",
        default=[],
        metavar="NAME",
        help="also compare these client-reported metrics (e.g. update_norm), "
        "each averaged over all clients and rounds of a run",
    )
    parser.add_argument(
        "--ratio",
        action="store_true",
        help="--paired gives run / reference instead of run - reference",
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
    if args.gain_over_round is not None:
        reference = args.gain_over_round
        runs = [with_round_gains(r, args.metrics, reference) for r in runs]
        metrics += [f"{m} round {reference}" for m in args.metrics]
        metrics += [f"{m} - round {reference}" for m in args.metrics]
    if args.client_metrics:
        runs = [with_client_means(r, args.client_metrics) for r in runs]
        metrics += [f"{m} (client mean)" for m in args.client_metrics]
    rows = seed_rows(group_runs(runs), metrics)
    print(seeds_table(rows, metrics))
    output: dict[str, Any] | list = rows
    if args.paired:
        key, _, value = args.paired.partition("=")
        if not value:
            raise CommandError(f"--paired needs KEY=VALUE, got {args.paired!r}")
        pairs = paired_rows(runs, metrics, key, value, ratio=args.ratio)
        if not pairs:
            raise CommandError(f"--paired {args.paired}: no run has a partner with it")
        compared = "Ratio" if args.ratio else "Difference"
        print(f"\n{compared} to the run with {args.paired} and the same seed:\n")
        print(seeds_table(_as_runs(pairs), metrics))
        output = {
            "groups": rows,
            "paired_with": args.paired,
            "paired_as": "ratio" if args.ratio else "difference",
            "differences": pairs,
        }
    if args.json:
        text = json.dumps(output, indent=2) + "\n"
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(text))
    if args.plot:
        bar_plot(
            {row["group"]: (row[plotted]["mean"], row[plotted]["std"]) for row in rows},
            args.plot,
            ylabel=f"final {plotted} (mean ± std over seeds)",
        )
        print(f"plot written to {args.plot}")
    return 0


def _as_runs(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Paired rows with their pair count as ``runs``, for :func:`seeds_table`."""
    return [{**row, "runs": row["pairs"]} for row in rows]


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

    def add_gains(evaluation: dict[str, Any]) -> None:
        for metric in metrics:
            suffix = metric.partition(" ")[2]
            reference = f"{baseline} {suffix}" if suffix else baseline
            if metric in evaluation and reference in evaluation:
                gain = evaluation[metric] - evaluation[reference]
                evaluation[f"{metric} - {baseline}"] = gain

    return _extend_evaluations(results, add_gains)


def with_round_gains(
    results: Mapping[str, Any], metrics: Sequence[str], reference: int
) -> dict[str, Any]:
    """Add each metric's value at round ``reference`` and the gain over it.

    Every evaluated round gets ``"<metric> round <reference>"`` (the value at
    that round) and ``"<metric> - round <reference>"`` (its own value minus
    it), so the final row of a run holds the initial value and the gain.

    Raises
    ------
    CommandError
        If a run has no evaluation of a metric at round ``reference``.
    """
    evaluated = {r["round"]: r.get("evaluation", {}) for r in results["rounds"]}
    initial = evaluated.get(reference, {})
    missing = [m for m in metrics if m not in initial]
    if missing:
        seed = results["config"].get("seed")
        raise CommandError(
            f"--gain-over-round {reference}: the run of seed {seed} has no "
            f"evaluation of {', '.join(missing)} at round {reference}"
        )

    def add_gains(evaluation: dict[str, Any]) -> None:
        for metric in metrics:
            if metric in evaluation:
                evaluation[f"{metric} round {reference}"] = initial[metric]
                evaluation[f"{metric} - round {reference}"] = (
                    evaluation[metric] - initial[metric]
                )

    return _extend_evaluations(results, add_gains)


def with_client_means(
    results: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """Add the mean of client-reported metrics up to each evaluated round.

    Every evaluated round gets ``"<name> (client mean)"``: the mean of
    ``name`` over the reports of all clients in that round and every earlier
    one, so the final row of a run holds the mean over the whole run.

    Raises
    ------
    CommandError
        If no client of a run reported one of ``names``.
    """
    sums = dict.fromkeys(names, 0.0)
    counts = dict.fromkeys(names, 0)
    means_by_round: list[dict[str, float]] = []  # in the order of the rounds
    for entry in results["rounds"]:
        for client in entry.get("clients", []):
            reported = client.get("metrics", {})
            for name in names:
                if name in reported:
                    sums[name] += float(reported[name])
                    counts[name] += 1
        means_by_round.append(
            {
                f"{name} (client mean)": sums[name] / counts[name]
                for name in names
                if counts[name]
            }
        )
    missing = [name for name in names if not counts[name]]
    if missing:
        seed = results["config"].get("seed")
        raise CommandError(
            f"--client-metrics: no client of the run of seed {seed} reported "
            f"{', '.join(missing)}"
        )
    means = iter(means_by_round)

    def add_means(evaluation: dict[str, Any]) -> None:
        round_means = next(means)
        if evaluation:  # only evaluated rounds are read as results
            evaluation.update(round_means)

    return _extend_evaluations(results, add_means)


def _extend_evaluations(
    results: Mapping[str, Any], add: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Return a copy of ``results`` with ``add`` applied to each round's evaluation."""
    rounds = []
    for entry in results["rounds"]:
        evaluation = dict(entry.get("evaluation", {}))
        add(evaluation)
        rounds.append({**entry, "evaluation": evaluation})
    return {**results, "rounds": rounds}
