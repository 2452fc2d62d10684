"""Round checkpoints of the global model, loaded without unpickling code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from fedvideo.utils import atomic_torch_save, load_checkpoint

__all__ = ["load_round_checkpoint", "save_round_checkpoint"]


def save_round_checkpoint(
    path: Path,
    server_round: int,
    model_state: Mapping[str, torch.Tensor],
    strategy_state: Mapping[str, Any] | None = None,
) -> None:
    """Write the global model and round number (atomically) to ``path``."""
    atomic_torch_save(
        {
            "round": server_round,
            "model": {k: v.detach().cpu() for k, v in model_state.items()},
            "strategy": dict(strategy_state or {}),
        },
        path,
    )


def load_round_checkpoint(
    path: str | Path,
) -> tuple[int, dict[str, torch.Tensor], dict]:
    """Read a checkpoint written by :func:`save_round_checkpoint`.

    Returns
    -------
    tuple[int, dict[str, Tensor], dict]
        The round number, the global model state and the strategy state.

    Raises
    ------
    ValueError
        If the file is not a fedvideo round checkpoint.
    """
    data = load_checkpoint(path)
    if not isinstance(data, Mapping) or not {"round", "model"} <= set(data):
        raise ValueError(f"{path} is not a fedvideo round checkpoint")
    return int(data["round"]), dict(data["model"]), dict(data.get("strategy", {}))
