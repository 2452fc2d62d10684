"""Learning tasks, chosen by name with the run config's ``task``.

A task implements :class:`~fedvideo.tasks.base.Task`. To add one, write its module
and register it in ``TASKS``; the apps need no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedvideo.config import ConfigError, FederationConfig, lookup
from fedvideo.tasks.base import ClientInfo, EvalResult, RoundInfo, Task, TrainResult
from fedvideo.tasks.pose import PoseTask
from fedvideo.tasks.ssl import SSLTask
from fedvideo.tasks.vsr import VSRTask

__all__ = [
    "TASKS",
    "ClientInfo",
    "EvalResult",
    "RoundInfo",
    "Task",
    "TrainResult",
    "build_task",
]

TASKS: dict[str, type[Task]] = {
    VSRTask.name: VSRTask,
    SSLTask.name: SSLTask,
    PoseTask.name: PoseTask,
}


def build_task(run_config: Mapping[str, Any], federation: FederationConfig) -> Task:
    """Instantiate the task named by the run config's ``task``.

    Raises
    ------
    ConfigError
        If the name is unknown, the task's section of the run config is invalid,
        or ``multigrid`` is on for a task without multigrid training.
    """
    task_class = lookup(TASKS, "task", federation.task)
    if federation.multigrid and not task_class.supports_multigrid:
        supported = ", ".join(repr(n) for n, t in TASKS.items() if t.supports_multigrid)
        raise ConfigError(
            f"run config 'multigrid': task {federation.task!r} has no multigrid "
            f"training; tasks that do: {supported}"
        )
    return task_class(run_config, federation)
