"""Learning tasks, chosen by name with the run config's ``task``.

A task implements :class:`~fedvideo.tasks.base.Task`. To add one, write its module
and register it in ``TASKS``; the apps need no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedvideo.config import FederationConfig, lookup
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
        If the name is unknown or the task's section of the run config is invalid.
    """
    return lookup(TASKS, "task", federation.task)(run_config, federation)
