"""The registry of learning tasks, chosen by name with the run config's ``task``.

Each task is one package, ``fedvideo.tasks.<name>``, whose ``task`` module
implements :class:`~fedvideo.fl.task.Task`. ``TASKS`` maps a name to that class
by import path, so that using one task never imports another one's code (its
models, datasets and dependencies). To add a task, write its package, add one
line here and its section to ``[tool.flwr.app.config]``; the apps need no
change (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

from fedvideo.config import ConfigError, FederationConfig, lookup, parse_section
from fedvideo.fl.task import Task

__all__ = ["TASKS", "build_task", "federation_config", "task_class"]

#: Task name -> ``"module:ClassName"`` of its :class:`~fedvideo.fl.task.Task`.
TASKS: dict[str, str] = {
    "vsr": "fedvideo.tasks.vsr.task:VSRTask",
    "ssl": "fedvideo.tasks.ssl.task:SSLTask",
    "pose": "fedvideo.tasks.pose.task:PoseTask",
}


def task_class(name: str) -> type[Task]:
    """Import and return the task class registered as ``name``.

    Raises
    ------
    ConfigError
        If ``name`` is not registered; the message lists the valid names.
    """
    module_name, _, class_name = lookup(TASKS, "task", name).partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def federation_config(run_config: Mapping[str, Any]) -> FederationConfig:
    """Validate the top-level settings; an empty ``strategy`` is the task's own.

    Raises
    ------
    ConfigError
        If a setting is missing, of the wrong type or out of range, or
        ``task`` is unknown.
    """
    federation = parse_section(run_config, FederationConfig)
    if federation.strategy:
        return federation
    strategy = task_class(federation.task).default_strategy
    return dataclasses.replace(federation, strategy=strategy)


def build_task(run_config: Mapping[str, Any], federation: FederationConfig) -> Task:
    """Instantiate the task named by the run config's ``task``.

    Raises
    ------
    ConfigError
        If the name is unknown, the task's section of the run config is invalid,
        or ``multigrid`` is on for a task without multigrid training.
    """
    cls = task_class(federation.task)
    if federation.multigrid and not cls.supports_multigrid:
        supported = ", ".join(
            repr(name) for name in TASKS if task_class(name).supports_multigrid
        )
        raise ConfigError(
            f"run config 'multigrid': task {federation.task!r} has no multigrid "
            f"training; tasks that do: {supported}"
        )
    return cls(run_config, federation)
