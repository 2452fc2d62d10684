"""Build the model of an experiment by name, as the ServerApp does.

The models themselves live in their task packages
(``fedvideo.tasks.<task>.models``); this entry point builds the one a run
config names, e.g.::

    from fedvideo.model import build_model

    vsr = build_model({"vsr.model": "edvr-tiny"})
    pose = build_model({"task": "pose", "pose.model": "vitpose-s"})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from fedvideo.config import default_run_config
from fedvideo.tasks import build_task, federation_config

__all__ = ["build_model"]


def build_model(overrides: Mapping[str, Any] | None = None) -> nn.Module:
    """Build the starting global model of the run config with ``overrides``.

    Parameters
    ----------
    overrides : Mapping[str, Any], optional
        Run-config keys that differ from ``[tool.flwr.app.config]``, e.g.
        ``{"task": "ssl"}``.

    Returns
    -------
    nn.Module
        The model as round 1 starts from (pretrained weights loaded where the
        run config names them), on the CPU.

    Raises
    ------
    ConfigError
        If an override names an unknown key or a setting is invalid.
    """
    run_config = default_run_config(overrides)
    federation = federation_config(run_config)
    return build_task(run_config, federation).initial_model()
