"""Tasks built from the default run config shrunk to test size (importable helper)."""

from __future__ import annotations

from typing import Any

from fedvideo.config import FederationConfig, default_run_config
from fedvideo.fl.task import Task
from fedvideo.tasks import build_task, federation_config

#: Run-config overrides for a VSR task that trains in well under a second.
TINY_VSR: dict[str, Any] = {
    "synthetic.train-videos": 4,
    "synthetic.test-videos": 1,
    "synthetic.frames": 4,
    "synthetic.height": 32,
    "synthetic.width": 32,
    "vsr.gt-crop": 32,
    "vsr.num-frames": 4,
    "vsr.batch-size": 2,
    "local-steps": 2,
    "vsr.samples-per-video": 4,
    "vsr.warmup-fraction": 0.0,
}


def tiny_task(**overrides: Any) -> tuple[Task, FederationConfig, dict[str, Any]]:
    """Build the task of the default config with :data:`TINY_VSR` and ``overrides``.

    Returns
    -------
    tuple
        The task, the parsed federation settings and the full run config.
    """
    config = default_run_config({**TINY_VSR, **overrides})
    federation = federation_config(config)
    return build_task(config, federation), federation, config
