"""Robustness to lost uploads: final quality per strategy and upload-loss rate.

Reads finished runs that differ in ``strategy`` and ``reliability.upload-loss``
(see docs/reliability.md), and writes a Markdown table, a JSON summary and a plot
of the final held-out metric against the share of lost uploads.

Usage::

    fedvideo robustness outputs/RUN ... --metric psnr \
        --plot docs/results/robustness.png --json docs/results/robustness.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.reports.compare import load_results, summary_row
from fedvideo.reports.tables import line_plot, markdown_table
from fedvideo.utils import atomic_write

__all__ = ["add_arguments", "plot", "robustness_rows", "robustness_table", "run"]


def _lost_uploads(results: Mapping[str, Any]) -> tuple[int, int]:
    """Count the uploads lost by failure injection and those sent, all rounds."""
    lost = sent = 0
    for entry in results["rounds"]:
        dropped = entry.get("dropped", [])
        lost += sum(1 for d in dropped if d.get("injected"))
        sent += len(entry.get("clients", [])) + len(dropped)
    return lost, sent


def robustness_rows(
    runs: Sequence[Mapping[str, Any]], metric: str = "psnr"
) -> list[dict[str, Any]]:
    """Summarise runs as one row per (strategy, upload-loss), sorted.

    Parameters
    ----------
    runs : sequence of mapping
        Parsed ``results.json`` of finished runs.
    metric : str, optional
        Held-out metric whose final value is compared.

    Returns
    -------
    list of dict
        ``strategy``, ``upload_loss``, the final ``metric``, its change from the
        same strategy's run without loss (``drop``, None when that run is
        missing), the lost and sent uploads, rounds that kept the previous model
        (``skipped_rounds``) and the status.

    Raises
    ------
    ValueError
        If two runs share a strategy and upload-loss rate.
    """
    rows: dict[tuple[str, float], dict[str, Any]] = {}
    for results in runs:
        config = results["config"]
        key = (str(config["strategy"]), float(config["reliability.upload-loss"]))
        if key in rows:
            raise ValueError(f"two runs of strategy {key[0]} at upload-loss {key[1]}")
        lost, sent = _lost_uploads(results)
        rows[key] = {
            "strategy": key[0],
            "upload_loss": key[1],
            metric: summary_row(results, [metric])[metric],
            "lost_uploads": lost,
            "sent_uploads": sent,
            "skipped_rounds": sum(1 for r in results["rounds"] if r.get("skipped")),
            "status": results.get("status", "?"),
        }
    for (strategy, _), row in rows.items():
        reference = rows.get((strategy, 0.0))
        row["drop"] = row[metric] - reference[metric] if reference else None
    return [rows[key] for key in sorted(rows)]


def robustness_table(rows: Sequence[Mapping[str, Any]], metric: str = "psnr") -> str:
    """Rows of :func:`robustness_rows` as a Markdown table, one line per rate."""
    strategies = sorted({row["strategy"] for row in rows})
    rates = sorted({row["upload_loss"] for row in rows})
    by_key = {(row["strategy"], row["upload_loss"]): row for row in rows}
    header = ["upload loss"]
    for strategy in strategies:
        header += [f"{strategy} {metric}", f"{strategy} change", f"{strategy} lost"]
    lines = []
    for rate in rates:
        cells = [f"{rate:.0%}"]
        for strategy in strategies:
            row = by_key.get((strategy, rate))
            if row is None:
                cells += ["", "", ""]
                continue
            drop = "" if row["drop"] is None else f"{row['drop']:+.3f}"
            lost = f"{row['lost_uploads']}/{row['sent_uploads']}"
            cells += [f"{row[metric]:.3f}", drop, lost]
        lines.append(cells)
    return markdown_table(header, lines)


def plot(rows: Sequence[Mapping[str, Any]], metric: str, path: Path) -> None:
    """Plot the final ``metric`` against the upload-loss rate, per strategy."""
    series = {}
    for strategy in sorted({row["strategy"] for row in rows}):
        points = [
            (100 * r["upload_loss"], r[metric])
            for r in rows
            if r["strategy"] == strategy
        ]
        series[strategy] = tuple(zip(*points, strict=True))
    line_plot(
        series,
        path,
        xlabel="uploads lost (%)",
        ylabel=f"final held-out {metric}",
        figsize=(6.0, 4.0),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo robustness``."""
    parser.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    parser.add_argument("--metric", default="psnr")
    parser.add_argument("--plot", type=Path, help="PNG of the metric against loss")
    parser.add_argument("--json", type=Path, help="write the rows here")


def run(args: argparse.Namespace) -> int:
    """Print the robustness table; optionally write the JSON summary and plot."""
    rows = robustness_rows([load_results(r) for r in args.runs], args.metric)
    print(robustness_table(rows, args.metric))
    if args.json:
        atomic_write(
            args.json,
            lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=2) + "\n"),
        )
    if args.plot:
        plot(rows, args.metric, args.plot)
        print(f"plot written to {args.plot}")
    return 0
