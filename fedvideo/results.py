"""Per-run results on disk: ``results.json`` and a metric plot, rewritten each round.

Both files are replaced atomically after every round, so an interrupted run keeps
everything up to its last completed round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fedvideo.tasks.base import PlotSpec  # noqa: E402
from fedvideo.utils import atomic_savefig, atomic_write  # noqa: E402

__all__ = ["RunRecorder", "make_run_dir", "plot_rounds"]


def make_run_dir(output_dir: str | Path, label: str) -> Path:
    """Create ``output_dir/<timestamp>_<label>`` (absolute) and return it."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    base = Path(output_dir).expanduser().resolve()
    run_dir = base / f"{stamp}_{label}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = base / f"{stamp}_{label}_{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def plot_rounds(rounds: list[Mapping[str, Any]], spec: PlotSpec, path: Path) -> bool:
    """Plot the server-side metrics of ``spec`` against the round number.

    Returns
    -------
    bool
        False (and nothing written) when no round has those metrics yet.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for key, label in spec.series:
        points = [
            (r["round"], r["evaluation"][key])
            for r in rounds
            if key in r.get("evaluation", {})
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=label)
            plotted = True
    if plotted:
        ax.set_xlabel("round")
        ax.set_ylabel(spec.ylabel)
        ax.set_title(spec.title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        atomic_savefig(fig, path)
    plt.close(fig)
    return plotted


class RunRecorder:
    """Collects one entry per round and keeps ``results.json`` and the plot current.

    Parameters
    ----------
    run_dir : Path
        Folder of this run.
    meta : Mapping[str, Any]
        Run description stored under ``"config"`` (the full run config).
    plot : PlotSpec
        Which evaluation metrics to plot.
    """

    def __init__(self, run_dir: Path, meta: Mapping[str, Any], plot: PlotSpec):
        self.run_dir = run_dir
        self.results_path = run_dir / "results.json"
        self.plot_path = run_dir / "metrics.png"
        self.plot = plot
        self.data: dict[str, Any] = {
            "config": dict(meta),
            "rounds": [],
            "status": "running",
        }
        self._save()

    def record_round(self, entry: Mapping[str, Any]) -> None:
        """Append one round's entry (must hold ``round``) and rewrite the files."""
        self.data["rounds"].append(dict(entry))
        self._save()
        plot_rounds(self.data["rounds"], self.plot, self.plot_path)

    def finish(self, status: str = "completed", **extra: Any) -> None:
        """Mark the run finished and store ``extra`` top-level fields."""
        self.data["status"] = status
        self.data.update(extra)
        self._save()

    def _save(self) -> None:
        text = json.dumps(self.data, indent=2, default=float)
        atomic_write(self.results_path, lambda tmp: Path(tmp).write_text(text))
