"""Per-run results on disk: ``results.json`` and a metric plot, rewritten each round.

Both files are replaced atomically after every round, so an interrupted run keeps
everything up to its last completed round, and a resumed run continues them
(:meth:`RunRecorder.continue_run`).

``status`` goes from ``running`` to exactly one of ``completed``, ``failed`` or
``stopped`` (``flwr stop`` or a signal); after that no round is recorded. While
it runs, the ServerApp rewrites a ``heartbeat`` file every
:data:`HEARTBEAT_SECONDS`: a ``running`` run whose heartbeat went stale was
killed outright, and :func:`run_status` reports it as ``interrupted``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fedvideo.fl.task import PlotSpec
from fedvideo.fl.tensorboard import TensorBoardLog
from fedvideo.reports.tables import line_plot
from fedvideo.utils import atomic_write

__all__ = [
    "RunRecorder",
    "config_changes",
    "find_resumable_run",
    "make_run_dir",
    "plot_losses",
    "plot_rounds",
    "read_results",
    "run_status",
    "time_breakdown",
]

STAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"
STAMP_PATTERN = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"
RESULTS_NAME = "results.json"
HEARTBEAT_NAME = "heartbeat"
#: How often a running ServerApp rewrites its heartbeat file.
HEARTBEAT_SECONDS = 30.0
#: A running run whose heartbeat is older than this counts as interrupted.
STALE_AFTER_SECONDS = 4 * HEARTBEAT_SECONDS
TERMINAL_STATUSES = ("completed", "failed", "stopped")
#: Keys that say how a run was started, not what it computes.
RESUME_KEYS = ("resume", "resume-from")


def make_run_dir(output_dir: str | Path, label: str) -> Path:
    """Create ``output_dir/<timestamp>_<label>`` (absolute) and return it."""
    stamp = datetime.now().strftime(STAMP_FORMAT)
    base = Path(output_dir).expanduser().resolve()
    run_dir = base / f"{stamp}_{label}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = base / f"{stamp}_{label}_{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def find_resumable_run(
    output_dir: str | Path, label: str, checkpoint_name: str = "checkpoint.pt"
) -> Path | None:
    """Return the run folder of ``label`` whose checkpoint was written last.

    Only folders named as :func:`make_run_dir` names them
    (``<timestamp>_<label>`` or ``<timestamp>_<label>_<n>``) that hold
    ``checkpoint_name`` count, so ``vsr_fedavg`` never picks a ``vsr_fedvsr`` run.

    Returns
    -------
    Path or None
        The absolute folder, or None when ``output_dir`` holds no such run.
    """
    base = Path(output_dir).expanduser().resolve()
    if not base.is_dir():
        return None
    name = re.compile(rf"{STAMP_PATTERN}_{re.escape(label)}(_\d+)?")
    runs = [
        folder
        for folder in base.iterdir()
        if name.fullmatch(folder.name) and (folder / checkpoint_name).is_file()
    ]
    if not runs:
        return None
    return max(runs, key=lambda d: ((d / checkpoint_name).stat().st_mtime_ns, d.name))


def read_results(run_dir: Path) -> dict[str, Any] | None:
    """Return ``results.json`` of ``run_dir``, or None if missing or unreadable."""
    try:
        data = json.loads((run_dir / RESULTS_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_status(
    run_dir: Path, results: Mapping[str, Any], now: float | None = None
) -> str:
    """Return the status of a run as tools should show it.

    The recorded status, except that a ``running`` run whose ``heartbeat`` file
    (or, without one, ``results.json``) was last written more than
    :data:`STALE_AFTER_SECONDS` ago is ``interrupted``: its ServerApp was
    killed without a chance to say so.
    """
    status = str(results.get("status", "?"))
    if status != "running":
        return status
    for name in (HEARTBEAT_NAME, RESULTS_NAME):
        try:
            written = (run_dir / name).stat().st_mtime
        except OSError:
            continue
        age = (time.time() if now is None else now) - written
        return "interrupted" if age > STALE_AFTER_SECONDS else "running"
    return "interrupted"


def config_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], ignore: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Run-config keys whose values differ, as ``{key: {"before", "after"}}``."""
    keys = sorted((set(before) | set(after)) - set(ignore))
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    }


def plot_rounds(rounds: list[Mapping[str, Any]], spec: PlotSpec, path: Path) -> bool:
    """Plot the server-side metrics of ``spec`` against the round number.

    Returns
    -------
    bool
        False (and nothing written) when no round has those metrics yet.
    """
    series = {}
    for key, label in spec.series:
        points = [
            (r["round"], r["evaluation"][key])
            for r in rounds
            if key in r.get("evaluation", {})
        ]
        if points:
            series[label] = tuple(zip(*points, strict=True))
    if not series:
        return False
    line_plot(
        series,
        path,
        xlabel="round",
        ylabel=spec.ylabel,
        title=spec.title,
        figsize=(6.0, 4.0),
    )
    return True


def plot_losses(rounds: list[Mapping[str, Any]], spec: PlotSpec, path: Path) -> bool:
    """Plot the clients' mean training loss and its reference parts per round.

    The references are the ``train_parts`` of ``spec.loss_references`` (for
    ssl the no-motion loss on the same batches), drawn next to the loss.

    Returns
    -------
    bool
        False (and nothing written) when no round has a training loss yet.
    """
    trained = [r for r in rounds if r.get("train_loss") is not None]
    if not trained:
        return False
    series = {
        "training loss": (
            [r["round"] for r in trained],
            [r["train_loss"] for r in trained],
        )
    }
    for part, label in spec.loss_references:
        points = [
            (r["round"], r["train_parts"][part])
            for r in trained
            if part in r.get("train_parts", {})
        ]
        if points:
            series[label] = tuple(zip(*points, strict=True))
    line_plot(
        series,
        path,
        xlabel="round",
        ylabel="loss",
        title="Training loss of the clients",
        figsize=(6.0, 4.0),
    )
    return True


def _slowest_client_training(round_entry: Mapping[str, Any]) -> float:
    """Return the longest ``train_seconds`` a client of the round reported."""
    seconds = [
        float(client.get("metrics", {}).get("train_seconds", 0.0))
        for client in round_entry.get("clients", [])
    ]
    return max(seconds, default=0.0)


def time_breakdown(
    rounds: Sequence[Mapping[str, Any]],
    startup_seconds: float,
    saving_seconds: float,
    final_seconds: float,
    total_seconds: float,
) -> dict[str, float]:
    """Where a run's wall time went, for ``results.json``'s ``time``.

    Parameters
    ----------
    rounds : sequence of mappings
        The recorded rounds, each with ``round_seconds`` (from the end of the
        previous round's bookkeeping to this round's evaluation: configuring,
        the clients' training, their replies, aggregation), ``eval_seconds`` and
        its ``clients`` (each with ``metrics.train_seconds``).
    startup_seconds : float
        From the ServerApp's start to the first round: task, data, model,
        strategy, resume.
    saving_seconds : float
        Writing results, plots and round checkpoints, and the final model.
    final_seconds : float
        The task's final evaluation after the last round.
    total_seconds : float
        The ServerApp's wall time.

    Returns
    -------
    dict[str, float]
        ``startup_seconds``; ``rounds_seconds`` (sum of ``round_seconds``);
        ``client_train_seconds`` (per round, the slowest client's local
        training, summed: the part of ``rounds_seconds`` spent training);
        ``evaluation_seconds`` (held-out evaluations and the final one);
        ``saving_seconds``; ``total_seconds``; and ``other_seconds``, the rest.
        Pass the rounds of one process only (a resumed run's own), so that
        every part is that process's time.
    """
    rounds_seconds = sum(float(r.get("round_seconds", 0.0)) for r in rounds)
    client_train = sum(_slowest_client_training(r) for r in rounds)
    evaluation = sum(float(r.get("eval_seconds", 0.0)) for r in rounds) + final_seconds
    parts = {
        "startup_seconds": startup_seconds,
        "rounds_seconds": rounds_seconds,
        "client_train_seconds": client_train,
        "evaluation_seconds": evaluation,
        "saving_seconds": saving_seconds,
        "total_seconds": total_seconds,
    }
    accounted = startup_seconds + rounds_seconds + evaluation + saving_seconds
    return {**parts, "other_seconds": total_seconds - accounted}


class RunRecorder:
    """Collects one entry per round and keeps ``results.json`` and the plots current.

    Parameters
    ----------
    run_dir : Path
        Folder of this run.
    meta : Mapping[str, Any]
        Run description stored under ``"config"`` (the full run config).
    plot : PlotSpec
        Which evaluation metrics to plot.
    data : Mapping[str, Any], optional
        Results to start from (see :meth:`continue_run`); default: none yet.
    """

    def __init__(
        self,
        run_dir: Path,
        meta: Mapping[str, Any],
        plot: PlotSpec,
        data: Mapping[str, Any] | None = None,
    ):
        self.run_dir = run_dir
        self.results_path = run_dir / RESULTS_NAME
        self.plot_path = run_dir / "metrics.png"
        self.loss_plot_path = run_dir / "loss.png"
        self.plot = plot
        self._lock = threading.RLock()
        self._heartbeat_stop = threading.Event()
        self._tensorboard: TensorBoardLog | None = None
        self.data: dict[str, Any] = (
            {"config": dict(meta), "rounds": [], "status": "running"}
            if data is None
            else dict(data)
        )
        self._save()
        if self.data["rounds"]:
            self._plot()

    @classmethod
    def continue_run(
        cls,
        run_dir: Path,
        meta: Mapping[str, Any],
        plot: PlotSpec,
        from_round: int,
        checkpoint: Path,
    ) -> RunRecorder:
        """Continue the results in ``run_dir`` after round ``from_round``.

        Rounds after ``from_round`` (done by the interrupted attempt after its
        last checkpoint) are discarded, the status goes back to ``running``, and
        an entry is appended to the ``resumed`` list: the round and checkpoint
        resumed from, the discarded rounds, and the run-config keys that differ
        from the recorded ``config`` (which is kept). Without a readable
        ``results.json`` in ``run_dir`` (a checkpoint resumed into a new
        folder), the results start empty with ``meta`` as the config.

        Parameters
        ----------
        run_dir : Path
            Folder of the run.
        meta : Mapping[str, Any]
            The resumed run's config.
        plot : PlotSpec
            Which evaluation metrics to plot.
        from_round : int
            The round of the checkpoint resumed from.
        checkpoint : Path
            The checkpoint file resumed from.

        Returns
        -------
        RunRecorder
            A recorder whose results already hold rounds ``0..from_round``.
        """
        previous = read_results(run_dir)
        status_before = run_status(run_dir, previous) if previous else None
        previous = previous or {"config": dict(meta), "rounds": []}
        rounds = previous.get("rounds", [])
        entry = {
            "status_before": status_before,  # e.g. interrupted, stopped
            "from_round": from_round,
            "checkpoint": str(checkpoint),
            "at": datetime.now().isoformat(timespec="seconds"),
            "discarded_rounds": [r["round"] for r in rounds if r["round"] > from_round],
            "config_changes": config_changes(
                previous.get("config", {}), meta, ignore=RESUME_KEYS
            ),
        }
        data = {
            "config": previous.get("config", dict(meta)),
            "rounds": [r for r in rounds if r["round"] <= from_round],
            "status": "running",
            "resumed": [*previous.get("resumed", []), entry],
        }
        return cls(run_dir, meta, plot, data)

    @property
    def finished(self) -> bool:
        """Whether the run has its final status (no more rounds are recorded)."""
        return self.data["status"] in TERMINAL_STATUSES

    def record_round(self, entry: Mapping[str, Any]) -> bool:
        """Append one round's entry (must hold ``round``) and rewrite the files.

        Returns
        -------
        bool
            False, and nothing recorded, once the run has its final status
            (e.g. a round that ended after ``flwr stop``).
        """
        with self._lock:
            if self.finished:
                return False
            self.data["rounds"].append(dict(entry))
            self._save()
            self._plot()
            if self._tensorboard is not None:
                self._tensorboard.log_round(entry)
            return True

    def log_to_tensorboard(self) -> Path:
        """Also write every round from now on to the run folder's ``tensorboard/``.

        Returns
        -------
        Path
            The TensorBoard log folder.

        Raises
        ------
        ConfigError
            If the ``tensorboard`` package is missing.
        """
        self._tensorboard = TensorBoardLog(self.run_dir / "tensorboard")
        return self._tensorboard.log_dir

    def _plot(self) -> None:
        plot_rounds(self.data["rounds"], self.plot, self.plot_path)
        plot_losses(self.data["rounds"], self.plot, self.loss_plot_path)

    def update(self, **fields: Any) -> None:
        """Set top-level fields (e.g. ``client_errors``) while the run goes on."""
        with self._lock:
            if not self.finished:
                self.data.update(fields)
                self._save()

    def finish(self, status: str = "completed", **extra: Any) -> bool:
        """Give the run its final status and store ``extra`` top-level fields.

        Only the first call counts: a run marked ``stopped`` stays stopped.

        Returns
        -------
        bool
            Whether this call set the status.
        """
        if status not in TERMINAL_STATUSES:
            raise ValueError(
                f"status must be one of {TERMINAL_STATUSES}, got {status!r}"
            )
        with self._lock:
            self._heartbeat_stop.set()
            if self.finished:
                return False
            self.data["status"] = status
            self.data["finished_at"] = datetime.now().isoformat(timespec="seconds")
            self.data.update(extra)
            self._save()
            if self._tensorboard is not None:
                self._tensorboard.close()
            return True

    def start_heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Rewrite the ``heartbeat`` file every ``every`` seconds until finished."""
        path = self.run_dir / HEARTBEAT_NAME

        def beat() -> None:
            while not self._heartbeat_stop.is_set():
                stamp = datetime.now().isoformat(timespec="seconds") + "\n"
                try:
                    atomic_write(
                        path, lambda tmp, text=stamp: Path(tmp).write_text(text)
                    )
                except OSError:
                    pass  # a full disk must not kill the run; results.json tells
                self._heartbeat_stop.wait(every)

        threading.Thread(target=beat, name="fedvideo-heartbeat", daemon=True).start()

    def _save(self) -> None:
        text = json.dumps(self.data, indent=2, default=float)
        atomic_write(self.results_path, lambda tmp: Path(tmp).write_text(text))
