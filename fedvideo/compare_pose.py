"""Compare pose runs across test resolutions: a Markdown table and one plot.

Reads each run's ``resolution_sweep.json`` (written after its last round) and
prints mean PCKh per test resolution, one column per run, with the training
resolutions marked as seen.

Usage::

    python -m fedvideo.compare_pose outputs/RUN_A outputs/RUN_B \
        --labels FedAvg RAF+FedAvg --plot docs/results/raf_sweep.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.data.pose_partition import parse_resolution
from fedvideo.pose_evaluation import plot_resolution_sweep

__all__ = ["load_sweep", "main", "sweep_table"]


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
    resolutions = list(sweeps[0]["sweep"])
    header = ["test resolution", *labels]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in resolutions:
        kind = "seen" if name in seen else "unseen"
        values = [f"{s['sweep'][name][metric]['mean']:.1f}" for s in sweeps]
        lines.append(f"| {name} ({kind}) | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table and optionally write the plot."""
    parser = argparse.ArgumentParser(prog="python -m fedvideo.compare_pose")
    parser.add_argument("runs", nargs="+", help="run folders (or sweep JSON files)")
    parser.add_argument("--labels", nargs="+", help="one label per run")
    parser.add_argument(
        "--metric", default="PCKh@0.5", choices=["PCKh@0.5", "PCKh@0.1"]
    )
    parser.add_argument("--plot", type=Path, help="image path for the sweep plot")
    args = parser.parse_args(argv)
    labels = args.labels or [Path(r).name for r in args.runs]
    if len(labels) != len(args.runs):
        parser.error("give one label per run")
    sweeps = [load_sweep(r) for r in args.runs]
    print(sweep_table(labels, sweeps, args.metric))
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        seen = [parse_resolution(r) for r in sweeps[0].get("seen_resolutions", [])]
        plot_resolution_sweep(
            {label: s["sweep"] for label, s in zip(labels, sweeps, strict=True)},
            args.plot,
            seen,
            metric=args.metric,
        )
        print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
