"""VSR models defined outside fedvideo, named by import path.

``vsr.model = "package.module:Factory"`` builds any ``nn.Module`` that keeps the
VSR contract, a low-resolution clip ``(B, T, C, h, w)`` in, ``(B, T, C, s·h, s·w)``
out, so that the official code of VRT, RVRT or IART can be federated as it is.
The factory is called with the keyword arguments of ``vsr.model-kwargs``, a
TOML inline table written as a string (Flower's run-config values are scalars):
``vsr.model-kwargs = "upscale = 4, img_size = [6, 64, 64]"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import tomli
import torch
from torch import nn

__all__ = [
    "check_vsr_contract",
    "is_import_path",
    "load_factory",
    "parse_model_kwargs",
]


def is_import_path(name: str) -> bool:
    """Whether a model name is an import path (``module:attribute``)."""
    return ":" in name


def load_factory(spec: str) -> Callable[..., nn.Module]:
    """Import ``"package.module:attribute"`` and return the attribute.

    The attribute may be dotted (``module:Class.from_config``) and must be
    callable (a class or a function returning the model).

    Raises
    ------
    ValueError
        If the spec is malformed, the module cannot be imported (with the
        import error), the attribute is missing, or it is not callable.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(
            f"model {spec!r}: an external model is 'package.module:Factory' "
            "(module path, a colon, then the class or function)"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"model {spec!r}: cannot import module {module_name!r} ({err}); "
            "install the package on every SuperNode and the SuperLink, or add "
            "its folder to PYTHONPATH"
        ) from err
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(
                f"model {spec!r}: {getattr(target, '__name__', target)!r} has no "
                f"attribute {part!r}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"model {spec!r}: {attribute!r} is not callable")
    return target


def parse_model_kwargs(text: str, key: str = "vsr.model-kwargs") -> dict[str, Any]:
    """Parse a TOML inline table (braces optional) into keyword arguments.

    ``"upscale = 4, window_size = [6, 8, 8]"`` gives
    ``{"upscale": 4, "window_size": [6, 8, 8]}``; an empty string gives ``{}``.

    Raises
    ------
    ValueError
        Naming ``key`` if the text is not a TOML inline table.
    """
    body = text.strip()
    if not body:
        return {}
    if not body.startswith("{"):
        body = "{ " + body + " }"
    try:
        return dict(tomli.loads(f"kwargs = {body}")["kwargs"])
    except tomli.TOMLDecodeError as err:
        raise ValueError(
            f"run config '{key}': {text!r} is not a TOML inline table such as "
            f'"scale = 4, widths = [32, 64]" ({err})'
        ) from None


@torch.no_grad()
def check_vsr_contract(
    model: nn.Module, scale: int, num_frames: int, lr_size: tuple[int, int]
) -> None:
    """Run ``model`` once on a small clip and check the VSR output contract.

    Parameters
    ----------
    model : nn.Module
        The model, on the CPU.
    scale : int
        Expected upscaling factor (``vsr.scale``).
    num_frames, lr_size : int, tuple[int, int]
        Clip length and LR frame size of the probe, ``(1, T, 3, h, w)``:
        the training clip's, so that window and size constraints hold.

    Raises
    ------
    ValueError
        If the forward pass fails, or the output is not a tensor of shape
        ``(1, T, 3, scale·h, scale·w)`` with finite values.
    """
    h, w = lr_size
    probe = torch.rand(
        1, num_frames, 3, h, w, generator=torch.Generator().manual_seed(0)
    )
    expected = (1, num_frames, 3, scale * h, scale * w)
    was_training = model.training
    model.eval()
    try:
        output = model(probe)
    except Exception as err:  # noqa: BLE001 - any failure is reported the same way
        raise ValueError(
            f"the model failed on a probe clip of shape {tuple(probe.shape)} "
            f"(B, T, C, h, w): {type(err).__name__}: {err}"
        ) from err
    finally:
        model.train(was_training)
    if not isinstance(output, torch.Tensor):
        raise ValueError(
            f"the model returned {type(output).__name__}, not a tensor; a VSR model "
            "maps (B, T, C, h, w) to (B, T, C, scale*h, scale*w)"
        )
    if tuple(output.shape) != expected:
        raise ValueError(
            f"the model maps a clip of shape {tuple(probe.shape)} to "
            f"{tuple(output.shape)}, expected {expected} (B, T, C, scale*h, "
            f"scale*w with vsr.scale = {scale})"
        )
    if not torch.isfinite(output).all():
        raise ValueError("the model's output on a probe clip is not finite")
