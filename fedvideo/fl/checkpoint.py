"""Round checkpoints of the global model, loaded without unpickling code.

A checkpoint holds everything the server's remaining rounds depend on: the
round number, the global model, the strategy's state (:meth:`state_dict`) and
the state of Python's ``random`` generator, from which Flower samples the nodes
of each round. A run resumed from it (``resume`` / ``resume-from``) therefore
continues exactly as the uninterrupted run would have (:mod:`fedvideo.fl.resume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fedvideo.utils import atomic_torch_save, load_checkpoint

__all__ = [
    "CHECKPOINT_NAME",
    "RoundCheckpoint",
    "load_round_checkpoint",
    "read_round_checkpoint",
    "save_round_checkpoint",
]

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class RoundCheckpoint:
    """A checkpoint written by :func:`save_round_checkpoint`, as read back."""

    path: Path
    server_round: int
    model: dict[str, torch.Tensor]
    strategy: dict[str, Any]
    python_rng: tuple | None


def save_round_checkpoint(
    path: Path,
    server_round: int,
    model_state: Mapping[str, torch.Tensor],
    strategy_state: Mapping[str, Any] | None = None,
    python_rng: tuple | None = None,
) -> None:
    """Write the round, global model and strategy state (atomically) to ``path``.

    ``python_rng`` is ``random.getstate()`` at the end of the round (plain
    ints and tuples, which load with ``weights_only=True``).
    """
    atomic_torch_save(
        {
            "round": server_round,
            "model": {k: v.detach().cpu() for k, v in model_state.items()},
            "strategy": dict(strategy_state or {}),
            "python_rng": python_rng,
        },
        path,
    )


def read_round_checkpoint(path: str | Path) -> RoundCheckpoint:
    """Read a checkpoint written by :func:`save_round_checkpoint`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a fedvideo round checkpoint.
    """
    data = load_checkpoint(path)
    if not isinstance(data, Mapping) or not {"round", "model"} <= set(data):
        raise ValueError(f"{path} is not a fedvideo round checkpoint")
    return RoundCheckpoint(
        path=Path(path),
        server_round=int(data["round"]),
        model=dict(data["model"]),
        strategy=dict(data.get("strategy", {})),
        python_rng=data.get("python_rng"),
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
    checkpoint = read_round_checkpoint(path)
    return checkpoint.server_round, checkpoint.model, checkpoint.strategy
