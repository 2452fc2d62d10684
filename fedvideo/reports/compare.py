"""Compare finished runs: a Markdown table and one plot from their ``results.json``.

Usage::

    fedvideo compare outputs/RUN_A outputs/RUN_B --labels fedavg fedvsr \
        --plot docs/figures/compare.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedvideo.data.errors import read_json_file
from fedvideo.fl.results import run_status
from fedvideo.reports.tables import line_plot, markdown_table
from fedvideo.utils import CommandError

__all__ = [
    "add_arguments",
    "comparison_table",
    "load_results",
    "run",
    "summary_row",
]


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """Read ``results.json`` of a run folder (or the file itself).

    Its ``status`` is the one tools show (:func:`~fedvideo.fl.results.run_status`):
    a ``running`` run whose ServerApp stopped writing its heartbeat is
    ``interrupted``.

    Raises
    ------
    FileNotFoundError
        If there is no results file at that place.
    DatasetError
        If the file cannot be read or is not valid JSON.
    CommandError
        If the file is not a run's results (JSON with ``rounds``), e.g. a
        table written by ``fedvideo seeds --json`` caught by a glob.
    """
    path = Path(run_dir)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no results.json at {path}")
    results = read_json_file(path, "results file")
    if not isinstance(results, dict) or "rounds" not in results:
        raise CommandError(f"{path} is not a run's results.json (no 'rounds')")
    results["status"] = run_status(path.parent, results)
    return results


def _evaluated(results: dict[str, Any], metric: str) -> list[tuple[int, float]]:
    return [
        (r["round"], r["evaluation"][metric])
        for r in results["rounds"]
        if metric in r.get("evaluation", {})
    ]


def summary_row(results: dict[str, Any], metrics: Sequence[str]) -> dict[str, Any]:
    """Return the final and best value of each metric and the wall time of a run."""
    row: dict[str, Any] = {
        "rounds": max(r["round"] for r in results["rounds"]),
        "status": results.get("status", "?"),
        "seconds": sum(r.get("round_seconds", 0.0) for r in results["rounds"]),
    }
    for metric in metrics:
        points = _evaluated(results, metric)
        row[metric] = points[-1][1] if points else float("nan")
        row[f"best_{metric}"] = max(v for _, v in points) if points else float("nan")
    return row


def comparison_table(
    labels: Sequence[str], rows: Sequence[dict], metrics: Sequence[str]
) -> str:
    """Render summary rows as a Markdown table, with the gain over bicubic if known."""
    delta = {"psnr", "psnr_bicubic"} <= set(metrics)
    header = [
        "run",
        "rounds",
        *metrics,
        *(["psnr gain (dB)"] if delta else []),
        "wall s",
    ]
    cells = []
    for label, row in zip(labels, rows, strict=True):
        values = [f"{row[m]:.4f}" if "ssim" in m else f"{row[m]:.3f}" for m in metrics]
        if delta:
            values.append(f"{row['psnr'] - row['psnr_bicubic']:+.3f}")
        cells.append([label, str(row["rounds"]), *values, f"{row['seconds']:.0f}"])
    return markdown_table(header, cells)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo compare``."""
    parser.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    parser.add_argument("--labels", nargs="+", help="one label per run")
    parser.add_argument(
        "--metrics", nargs="+", default=["psnr", "ssim", "psnr_bicubic", "ssim_bicubic"]
    )
    parser.add_argument("--plot", type=Path, help="PNG path for metric-per-round plot")
    parser.add_argument("--plot-metric", default="psnr")
    parser.add_argument("--baseline-metric", default="psnr_bicubic")


def run(args: argparse.Namespace) -> int:
    """Print a Markdown comparison table and optionally write a plot."""
    labels = args.labels or [Path(r).name for r in args.runs]
    if len(labels) != len(args.runs):
        raise CommandError("--labels: give one label per run")
    results = [load_results(r) for r in args.runs]
    rows = [summary_row(r, args.metrics) for r in results]
    print(comparison_table(labels, rows, args.metrics))
    if args.plot:
        series = {}
        for label, res in zip(labels, results, strict=True):
            xs, ys = zip(*_evaluated(res, args.plot_metric), strict=True)
            series[label] = (xs, ys)
        baseline = _evaluated(results[0], args.baseline_metric)
        line_plot(
            series,
            args.plot,
            xlabel="round",
            ylabel=f"{args.plot_metric} (held-out)",
            hlines={"bicubic": baseline[-1][1]} if baseline else None,
        )
        print(f"plot written to {args.plot}")
    return 0
