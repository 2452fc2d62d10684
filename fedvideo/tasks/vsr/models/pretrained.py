"""Whole-model VSR checkpoints: BasicSR's published weights or fedvideo's own.

fedvideo's ``basicvsr`` and ``edvr-m`` presets are BasicSR's BasicVSR and
EDVR-M with the same parameter names, so BasicSR's checkpoints (e.g.
``BasicVSR_REDS4-543c8261.pth``, ``EDVR_M_x4_SR_REDS_official-32075921.pth``)
load into them; so do the ``model.pt`` / ``model.safetensors`` of a fedvideo
run into the preset it trained. :func:`load_vsr_weights` reads the file without
executing code, unwraps BasicSR's ``params_ema`` / ``params`` (or a
``state_dict`` / ``model``) wrapper, strips a ``module.`` prefix, skips
BasicSR's stored SpyNet normalisation buffers (fedvideo computes the same
constants) and loads only a file that fits the model completely.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from fedvideo.fl.weights import WeightLoadReport, compare_state
from fedvideo.utils import load_weights

__all__ = ["WRAPPER_KEYS", "load_vsr_weights", "read_vsr_state"]

#: Keys under which checkpoints wrap their state dict, in order of preference
#: (BasicSR stores the EMA weights, when it keeps them, under ``params_ema``).
WRAPPER_KEYS: tuple[str, ...] = ("params_ema", "params", "state_dict", "model")

#: Buffers that BasicSR stores in its SpyNet and fedvideo computes: ImageNet
#: normalisation of the flow network's input.
_SPYNET_BUFFERS: dict[str, tuple[float, float, float]] = {
    "mean": (0.485, 0.456, 0.406),
    "std": (0.229, 0.224, 0.225),
}


def read_vsr_state(path: str | Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """Read a VSR checkpoint's tensors, unwrapped, with plain parameter names.

    Parameters
    ----------
    path : str or Path
        A ``.pth`` / ``.pt`` (read with ``weights_only=True``) or
        ``.safetensors`` file.

    Returns
    -------
    state : dict[str, Tensor]
        Parameter name -> tensor, without a common ``module.`` prefix.
    wrapper : str or None
        The wrapper key the tensors came from (e.g. ``"params"``), or None.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file holds no mapping of names to tensors.
    """
    checkpoint = load_weights(path)
    wrapper = None
    if isinstance(checkpoint, Mapping):
        for key in WRAPPER_KEYS:
            if isinstance(checkpoint.get(key), Mapping):
                checkpoint, wrapper = checkpoint[key], key
                break
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        raise ValueError(f"{path}: holds no state dict (a mapping of names to tensors)")
    state = {str(k): v for k, v in checkpoint.items()}
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state, wrapper


def _split_spynet_buffers(
    state: dict[str, torch.Tensor], expected: Mapping[str, torch.Tensor], path: Path
) -> list[str]:
    """Remove BasicSR's SpyNet mean/std from ``state``; check their values."""
    ignored = []
    for key in list(state):
        module, _, name = key.rpartition(".")
        if name not in _SPYNET_BUFFERS or key in expected:
            continue
        if not module.endswith("spynet"):
            continue
        value = state.pop(key)
        reference = torch.tensor(_SPYNET_BUFFERS[name], dtype=torch.float32)
        if value.numel() != 3 or not torch.allclose(
            value.float().flatten(), reference, atol=1e-6
        ):
            raise ValueError(
                f"{path}: {key} is {value.flatten().tolist()}, but fedvideo's "
                f"SpyNet normalises with {list(reference.tolist())}"
            )
        ignored.append(key)
    return ignored


def load_vsr_weights(model: nn.Module, path: str | Path) -> WeightLoadReport:
    """Load a whole-model checkpoint into a VSR model, only if it fits exactly.

    Parameters
    ----------
    model : nn.Module
        The model of the run's preset, updated in place.
    path : str or Path
        BasicSR checkpoint (``params`` / ``params_ema``) or fedvideo's
        ``model.pt`` / ``model.safetensors``.

    Returns
    -------
    WeightLoadReport
        Every key: loaded, and BasicSR's SpyNet buffers as ignored.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file does not fit the model (any missing, unexpected or
        mismatched key); the message lists them and nothing is loaded.
    """
    path = Path(path)
    state, wrapper = read_vsr_state(path)
    expected = model.state_dict()
    ignored = _split_spynet_buffers(state, expected, path)
    fitting, report = compare_state(state, expected)
    report.ignored = ignored
    if not report.complete:
        source = f" ('{wrapper}')" if wrapper else ""
        raise ValueError(
            f"{path}{source} does not fit {type(model).__name__}: "
            + "; ".join(report.problems())
        )
    model.load_state_dict(fitting, strict=True)
    return report
