"""Every per-round number of a run as TensorBoard scalars (``tensorboard = true``).

Long runs are easier to follow live in TensorBoard than in ``results.json``;
the run folder's ``tensorboard/`` gets, per round: the clients' mean training
loss and its parts (``train/...``), the server's held-out metrics
(``eval/...``), the strategy's aggregation diagnostics (``aggregation/...``),
the numbers of accepted and dropped replies and the round's wall time. View
it with ``tensorboard --logdir outputs``. It needs the ``tensorboard`` package
(``pip install -e ".[tensorboard]"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedvideo.config import ConfigError

__all__ = ["TensorBoardLog", "round_scalars"]


def round_scalars(entry: Mapping[str, Any]) -> dict[str, float]:
    """Return the numbers of one ``results.json`` round entry, by TensorBoard tag.

    Parameters
    ----------
    entry : Mapping[str, Any]
        A round as :class:`~fedvideo.fl.results.RunRecorder` records it.

    Returns
    -------
    dict[str, float]
        Tag -> value; missing or non-numeric values are left out.
    """
    scalars: dict[str, float] = {}

    def put(tag: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if math.isfinite(value):
            scalars[tag] = float(value)

    put("train/loss", entry.get("train_loss"))
    for prefix, key in (
        ("train", "train_parts"),
        ("eval", "evaluation"),
        ("aggregation", "aggregation"),
    ):
        for name, value in (entry.get(key) or {}).items():
            put(f"{prefix}/{name}", value)
    if "clients" in entry:
        put("replies/accepted", len(entry["clients"]))
    if "dropped" in entry:
        put("replies/dropped", len(entry["dropped"]))
    put("time/round_seconds", entry.get("round_seconds"))
    put("time/eval_seconds", entry.get("eval_seconds"))
    return scalars


class TensorBoardLog:
    """Writes each recorded round to a TensorBoard event file.

    Parameters
    ----------
    log_dir : Path
        Folder of the event files (the run folder's ``tensorboard/``).

    Raises
    ------
    ConfigError
        If the ``tensorboard`` package is not installed, naming the setting.
    """

    def __init__(self, log_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "run config 'tensorboard': needs the tensorboard package "
                '(pip install -e ".[tensorboard]"), or set tensorboard = false'
            ) from None
        self.log_dir = log_dir
        self._writer = SummaryWriter(log_dir=str(log_dir))

    def log_round(self, entry: Mapping[str, Any]) -> None:
        """Add the scalars of one round entry at step ``entry["round"]``."""
        for tag, value in round_scalars(entry).items():
            self._writer.add_scalar(tag, value, global_step=int(entry["round"]))
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()
