"""Resuming a run from a round checkpoint (``resume`` / ``resume-from``).

A resumed run restores the global model, the strategy's state and the server's
``random`` state from the checkpoint, runs only the rounds after it (with their
true round numbers, see :class:`~fedvideo.strategies.rounds.ResumedRounds`) and
keeps writing into the checkpoint's run folder.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Mapping
from dataclasses import dataclass
from logging import INFO, WARNING
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord
from flwr.common.logger import log
from torch import nn

from fedvideo.config import ConfigError, FederationConfig
from fedvideo.fl.checkpoint import (
    CHECKPOINT_NAME,
    RoundCheckpoint,
    read_round_checkpoint,
)
from fedvideo.fl.results import (
    RESULTS_NAME,
    RunRecorder,
    find_resumable_run,
    make_run_dir,
    read_results,
)
from fedvideo.fl.task import Task
from fedvideo.strategies.base import FedVideoStrategy

__all__ = [
    "StartPoint",
    "model_mismatch",
    "read_resume_checkpoint",
    "restore_server_state",
    "resume_checkpoint_path",
    "resume_key",
    "start_point",
]


def resume_key(federation: FederationConfig) -> str:
    """Return the run-config key that asked for resuming (for error messages)."""
    return "resume-from" if federation.resume_from else "resume"


def _checkpoint_in(path: str) -> Path:
    """``path`` itself, or the checkpoint inside the run folder ``path``."""
    given = Path(path).expanduser().resolve()
    if not given.exists():
        raise ConfigError(f"run config 'resume-from': {path!r} does not exist")
    checkpoint = given / CHECKPOINT_NAME if given.is_dir() else given
    if not checkpoint.is_file():
        raise ConfigError(
            f"run config 'resume-from': folder {path!r} holds no {CHECKPOINT_NAME}"
        )
    return checkpoint


def resume_checkpoint_path(federation: FederationConfig, label: str) -> Path | None:
    """Return the checkpoint a run resumes from, or None for a fresh run.

    ``resume-from`` (a checkpoint file or a run folder) wins over ``resume``,
    which takes the run folder of ``label`` (``<task>_<strategy>``) under
    ``output-dir`` whose checkpoint was written last.

    Raises
    ------
    ConfigError
        If ``resume-from`` does not exist or holds no checkpoint, or ``resume``
        finds no run to continue.
    """
    if federation.resume_from:
        return _checkpoint_in(federation.resume_from)
    if not federation.resume:
        return None
    run_dir = find_resumable_run(federation.output_dir, label, CHECKPOINT_NAME)
    if run_dir is None:
        raise ConfigError(
            f"run config 'resume': no run folder of {label!r} with a "
            f"{CHECKPOINT_NAME} in output-dir {federation.output_dir!r} "
            "(set resume = false to start a new run)"
        )
    return run_dir / CHECKPOINT_NAME


def model_mismatch(
    state: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]
) -> str | None:
    """How ``state`` differs from ``reference`` in names and shapes (None: fits)."""
    problems = []
    missing = [k for k in reference if k not in state]
    unexpected = [k for k in state if k not in reference]
    shapes = [
        f"{k} {tuple(state[k].shape)} instead of {tuple(reference[k].shape)}"
        for k in reference
        if k in state and tuple(state[k].shape) != tuple(reference[k].shape)
    ]
    for what, names in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("shape", shapes),
    ):
        if names:
            more = f" (+{len(names) - 3} more)" if len(names) > 3 else ""
            problems.append(f"{what}: {', '.join(names[:3])}{more}")
    return "; ".join(problems) or None


def read_resume_checkpoint(
    path: Path,
    federation: FederationConfig,
    reference: Mapping[str, torch.Tensor],
) -> RoundCheckpoint:
    """Read the checkpoint to resume from and check that it fits the run.

    Parameters
    ----------
    path : Path
        The checkpoint (from :func:`resume_checkpoint_path`).
    federation : FederationConfig
        The run's settings (``num-server-rounds``, the resume keys).
    reference : Mapping[str, Tensor]
        The task's federated tensors (``task.global_state(model)``).

    Raises
    ------
    ConfigError
        If the file cannot be read or is no round checkpoint, its model does
        not fit the task's (names or shapes), or its round is beyond
        ``num-server-rounds``; the message names the file.
    """
    key = resume_key(federation)
    try:
        checkpoint = read_round_checkpoint(path)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as err:
        raise ConfigError(
            f"run config '{key}': cannot read checkpoint {path}: {err}"
        ) from None
    mismatch = model_mismatch(checkpoint.model, reference)
    if mismatch:
        raise ConfigError(
            f"run config '{key}': the model in {path} does not fit this task's "
            f"model ({mismatch})"
        )
    if not 1 <= checkpoint.server_round <= federation.num_server_rounds:
        raise ConfigError(
            f"run config 'num-server-rounds': {federation.num_server_rounds}, but "
            f"{path} holds round {checkpoint.server_round}; resuming needs "
            "1 <= round <= num-server-rounds"
        )
    return checkpoint


@dataclass(frozen=True)
class StartPoint:
    """Where a run starts: its folder, results, global model and first round."""

    run_dir: Path
    recorder: RunRecorder
    arrays: ArrayRecord
    first_round: int


def _resume_run_dir(
    checkpoint: Path, task_name: str, federation: FederationConfig
) -> Path | None:
    """Return the checkpoint's run folder to continue in (None: a new folder).

    A bare checkpoint (no ``results.json`` beside it) continues in a new
    folder. So does one whose ``results.json`` cannot be read, but only with
    ``resume-new-folder``: otherwise its history would be lost without a word.

    Raises
    ------
    ConfigError
        If the folder's ``results.json`` is unreadable (without
        ``resume-new-folder``) or records another task or strategy.
    """
    run_dir = checkpoint.parent
    results = run_dir / RESULTS_NAME
    previous = read_results(run_dir)
    if previous is None:
        if not results.exists() or federation.resume_new_folder:
            return None
        raise ConfigError(
            f"run config '{resume_key(federation)}': cannot read {results} (not "
            "a JSON object), so the run's history and its task and strategy "
            "cannot be checked; repair or remove it, or set resume-new-folder = "
            "true to continue from the checkpoint in a new run folder"
        )
    recorded = previous.get("config", {})
    found = (recorded.get("task"), recorded.get("strategy"))
    if found != (task_name, federation.strategy):
        raise ConfigError(
            f"run config '{resume_key(federation)}': {run_dir} is a run of task "
            f"{found[0]!r} with strategy {found[1]!r}, not {task_name!r} with "
            f"{federation.strategy!r}"
        )
    return run_dir


def restore_server_state(
    checkpoint: RoundCheckpoint,
    strategy: FedVideoStrategy,
    federation: FederationConfig,
) -> None:
    """Load the checkpoint's strategy state and the server's ``random`` state."""
    try:
        strategy.load_state_dict(checkpoint.strategy)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(
            f"run config '{resume_key(federation)}': the strategy state in "
            f"{checkpoint.path} does not fit strategy {federation.strategy!r}: {err}"
        ) from None
    if checkpoint.python_rng is not None:
        random.setstate(checkpoint.python_rng)


def _maybe_tensorboard(recorder: RunRecorder, federation: FederationConfig) -> None:
    """Attach TensorBoard logging to the run's results when ``tensorboard`` is on."""
    if federation.tensorboard:
        log(INFO, "fedvideo: TensorBoard logs in %s", recorder.log_to_tensorboard())


def start_point(
    run_config: Mapping[str, Any],
    federation: FederationConfig,
    task: Task,
    model: nn.Module,
    strategy: FedVideoStrategy,
) -> StartPoint:
    """Start fresh, or continue from the checkpoint named by the resume keys.

    A resumed run restores the global model, the strategy's state and the
    server's ``random`` state, and continues in the checkpoint's run folder
    (or in a new one under ``output-dir`` for a checkpoint outside a run folder).

    Raises
    ------
    ConfigError
        If the resume keys name no usable checkpoint (see
        :func:`~fedvideo.fl.checkpoint.read_resume_checkpoint`), or its run folder
        or strategy state belongs to another task or strategy.
    """
    label = f"{task.name}_{federation.strategy}"
    # Record the strategy that runs, also when the task chose it.
    run_config = {**run_config, "strategy": federation.strategy}
    path = resume_checkpoint_path(federation, label)
    if path is None:
        run_dir = make_run_dir(federation.output_dir, label)
        recorder = RunRecorder(run_dir, run_config, task.plot)
        _maybe_tensorboard(recorder, federation)
        return StartPoint(run_dir, recorder, ArrayRecord(task.global_state(model)), 1)

    checkpoint = read_resume_checkpoint(path, federation, task.global_state(model))
    run_dir = _resume_run_dir(path, task.name, federation) or make_run_dir(
        federation.output_dir, label
    )
    restore_server_state(checkpoint, strategy, federation)
    warning = task.resume_warning()
    if warning:
        log(WARNING, "fedvideo: %s", warning)
    recorder = RunRecorder.continue_run(
        run_dir, run_config, task.plot, checkpoint.server_round, path
    )
    _maybe_tensorboard(recorder, federation)
    log(
        INFO,
        "fedvideo: resuming after round %d of %d from %s",
        checkpoint.server_round,
        federation.num_server_rounds,
        path,
    )
    return StartPoint(
        run_dir, recorder, ArrayRecord(checkpoint.model), checkpoint.server_round + 1
    )
