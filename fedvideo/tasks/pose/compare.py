"""Compare pose runs across test resolutions: a Markdown table and one plot.

Reads each run's ``resolution_sweep.json`` (written after its last round) and
prints mean PCKh per test resolution, one column per run, with the training
resolutions marked as seen.

Usage::

    fedvideo compare-pose outputs/RUN_A outputs/RUN_B \
        --labels FedAvg RAF+FedAvg --plot docs/results/raf_sweep.png
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.reports.tables import markdown_table
from fedvideo.tasks.pose.data.partition import parse_resolution
from fedvideo.tasks.pose.evaluation import plot_resolution_sweep
from fedvideo.utils import CommandError

__all__ = ["add_arguments", "load_sweep", "run", "sweep_table"]


def load_sweep(run_dir: str | Path) -> dict[str, Any]:
    """Read ``resolution_sweep.json`` of a run folder (or the file itself).

    Raises
    ------
    FileNotFoundError
        If there is no sweep file at that place (the run did not finish).
    """
    path = Path(run_dir)
    path = path / "resolution_sweep.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(
            f"no resolution_sweep.json at {path}: it is written when a pose run "
            "completes its last round"
        )
    return json.loads(path.read_text())


def sweep_table(
    labels: Sequence[str],
    sweeps: Sequence[Mapping[str, Any]],
    metric: str = "PCKh@0.5",
) -> str:
    """Render mean ``metric`` per test resolution (rows) and run (columns)."""
    seen = set(sweeps[0].get("seen_resolutions", []))
    rows = []
    for name in sweeps[0]["sweep"]:
        kind = "seen" if name in seen else "unseen"
        values = [f"{s['sweep'][name][metric]['mean']:.1f}" for s in sweeps]
        rows.append([f"{name} ({kind})", *values])
    return markdown_table(["test resolution", *labels], rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo compare-pose``."""
    parser.add_argument("runs", nargs="+", help="run folders (or sweep JSON files)")
    parser.add_argument("--labels", nargs="+", help="one label per run")
    parser.add_argument(
        "--metric", default="PCKh@0.5", choices=["PCKh@0.5", "PCKh@0.1"]
    )
    parser.add_argument("--plot", type=Path, help="image path for the sweep plot")


def run(args: argparse.Namespace) -> int:
    """Print the comparison table and optionally write the plot."""
    labels = args.labels or [Path(r).name for r in args.runs]
    if len(labels) != len(args.runs):
        raise CommandError("--labels: give one label per run")
    sweeps = [load_sweep(r) for r in args.runs]
    print(sweep_table(labels, sweeps, args.metric))
    if args.plot:
        seen = [parse_resolution(r) for r in sweeps[0].get("seen_resolutions", [])]
        plot_resolution_sweep(
            {label: s["sweep"] for label, s in zip(labels, sweeps, strict=True)},
            args.plot,
            seen,
            metric=args.metric,
        )
        print(f"plot written to {args.plot}")
    return 0
