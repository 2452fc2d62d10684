"""Loading pretrained ViT backbone weights (MAE, timm, ViTPose) into :class:`ViTPose`.

Checkpoints are read without executing code (``torch.load(...,
weights_only=True)`` or safetensors). Keys are matched after common wrapper
prefixes are removed, only tensors whose shapes fit are loaded, the decoder is
never touched, and a :class:`WeightLoadReport` lists what happened to every key,
so that a checkpoint that does not fit never loads silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from fedvideo.fl.weights import WeightLoadReport
from fedvideo.tasks.pose.models.vitpose import Grid, ViTPose, interpolate_pos_embed
from fedvideo.utils import load_weights

__all__ = ["WeightLoadReport", "load_backbone_weights"]

#: Checkpoint key prefixes removed before matching keys to the model.
_STRIPPED_PREFIXES: tuple[str, ...] = ("module.", "backbone.", "encoder.")
#: Top-level checkpoint keys that wrap the actual state dict.
_WRAPPER_KEYS: tuple[str, ...] = ("model", "state_dict", "module")


def _unwrap_state_dict(checkpoint: object) -> Mapping[str, object]:
    """Descend into "model"/"state_dict"/"module" wrappers of a checkpoint."""
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"checkpoint holds a {type(checkpoint).__name__}, not a dict")
    while True:
        inner = next(
            (
                checkpoint[key]
                for key in _WRAPPER_KEYS
                if isinstance(checkpoint.get(key), Mapping)
            ),
            None,
        )
        if inner is None:
            return checkpoint
        checkpoint = inner


def _strip_prefixes(key: str) -> str:
    """Remove leading "module."/"backbone."/"encoder." (repeatedly)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                stripped = True
    return key


def _square_side(count: int) -> int | None:
    """Side of a square grid holding ``count`` tokens, or ``None``."""
    side = math.isqrt(count)
    return side if side * side == count and side > 0 else None


def _adapt_pos_embed(
    table: Tensor, model_shape: torch.Size, reference_grid: Grid
) -> Tensor | None:
    """Fit a checkpoint ``pos_embed`` to the model's reference grid.

    Drops a leading class-token entry and resizes a square grid bicubically.
    Returns ``None`` when the table cannot be mapped.
    """
    if table.ndim != 3 or table.shape[0] != 1 or table.shape[2] != model_shape[2]:
        return None
    wanted = model_shape[1]
    count = table.shape[1]
    if count == wanted:
        return table
    if count == wanted + 1:
        return table[:, 1:]
    if _square_side(count - 1) is not None:
        table, count = table[:, 1:], count - 1
    side = _square_side(count)
    if side is None:
        return None
    return interpolate_pos_embed(table, (side, side), reference_grid)


def _is_new_positional_key(key: str) -> bool:
    """Whether a key belongs to GPE/LPE, which plain ViT checkpoints cannot hold."""
    return key.startswith("gpe.") or ".attn.lpe." in key


def load_backbone_weights(
    model: ViTPose, path: str | Path, strict_backbone: bool = False
) -> WeightLoadReport:
    """Load ViT weights (e.g. an MAE or timm checkpoint) into the backbone.

    The file is read safely (``weights_only=True``, or safetensors for a
    ``.safetensors`` suffix). A top-level "model"/"state_dict"/"module" dict is
    unwrapped and key prefixes "module.", "backbone.", "encoder." are stripped.
    A checkpoint ``pos_embed`` with class token, shape ``(1, 1 + s², dim)``, loses
    the class token and is bicubically resized to the reference grid of an
    absolute model; the conv model has no ``pos_embed`` (reported unexpected).
    Only tensors with matching shapes are loaded; the decoder (``head.``) is
    never touched.

    Parameters
    ----------
    model : ViTPose
        Model to update in place.
    path : str or Path
        Local checkpoint file.
    strict_backbone : bool
        Raise if a backbone key is missing or mismatched. GPE/LPE parameters are
        exempt: no plain ViT checkpoint has them (the LPE starts at zero).

    Returns
    -------
    WeightLoadReport
        Loaded, missing, unexpected and mismatched keys.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file holds no state dict, or with ``strict_backbone`` for missing or
        mismatched backbone keys (nothing is loaded then).
    ImportError
        For a ``.safetensors`` file without the ``safetensors`` package.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    state = _unwrap_state_dict(load_weights(path))
    model_state = model.state_dict()
    report = WeightLoadReport()
    to_load: dict[str, Tensor] = {}
    mismatched_keys: set[str] = set()
    for raw_key, value in state.items():
        key = _strip_prefixes(str(raw_key))
        if key.startswith("head.") or key not in model_state:
            report.unexpected.append(key)
            continue
        if not isinstance(value, Tensor):
            report.unexpected.append(key)
            continue
        target_shape = model_state[key].shape
        if key == "pos_embed":
            adapted = _adapt_pos_embed(value, target_shape, model.reference_grid)
            value = adapted if adapted is not None else value
        if value.shape != target_shape:
            report.mismatched.append(
                f"{key}: file {tuple(value.shape)} vs model {tuple(target_shape)}"
            )
            mismatched_keys.add(key)
            continue
        to_load[key] = value
    for key in model_state:
        if key in to_load:
            report.loaded.append(key)
        elif key not in mismatched_keys:
            report.missing.append(key)

    if strict_backbone:
        problems = [
            key
            for key in report.missing
            if not key.startswith("head.") and not _is_new_positional_key(key)
        ] + report.mismatched
        if problems:
            raise ValueError(
                f"backbone weights in {path} do not fit the model: "
                + "; ".join(problems)
            )
    model.load_state_dict(to_load, strict=False)
    return report
