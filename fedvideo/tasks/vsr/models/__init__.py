"""Video super-resolution models and their named presets.

Three architecture families: bidirectional recurrent (BasicVSR), sliding window
with deformable alignment (EDVR) and a video transformer with temporal mutual
self-attention (VRT style), plus any model by import path
(:mod:`~fedvideo.tasks.vsr.models.external`). Every one maps a low-resolution
clip (B, T, 3, h, w) in [0, 1] to (B, T, 3, scale·h, scale·w).
"""

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from .basicvsr import BasicVSR, basicvsr, basicvsr_small, basicvsr_tiny
from .edvr import EDVR, edvr_m, edvr_tiny
from .external import check_vsr_contract, is_import_path, load_factory
from .spynet import SpyNet, load_spynet_weights
from .vrt import VideoTransformerSR, vrt_small, vrt_tiny
from .warp import flow_warp

__all__ = [
    "FULL_SPYNET_PRESETS",
    "VSR_MODELS",
    "EDVR",
    "BasicVSR",
    "SpyNet",
    "VideoTransformerSR",
    "build_vsr_model",
    "check_vsr_contract",
    "flow_warp",
    "load_spynet_weights",
]

#: Preset name -> constructor taking keyword overrides (e.g. ``scale=2``).
VSR_MODELS: dict[str, Callable[..., nn.Module]] = {
    "basicvsr-tiny": basicvsr_tiny,
    "basicvsr-small": basicvsr_small,
    "basicvsr": basicvsr,
    "edvr-tiny": edvr_tiny,
    "edvr-m": edvr_m,
    "vrt-tiny": vrt_tiny,
    "vrt-small": vrt_small,
}

#: Presets whose SpyNet fits the published pretrained weights.
FULL_SPYNET_PRESETS: tuple[str, ...] = ("basicvsr-small", "basicvsr")


def build_vsr_model(
    name: str,
    scale: int = 4,
    flow_weights: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build a video super-resolution model by preset name or import path.

    Parameters
    ----------
    name : str
        A key of :data:`VSR_MODELS`, or ``"package.module:Factory"`` for a
        model defined outside fedvideo (:mod:`fedvideo.tasks.vsr.models.external`).
    scale : int, optional
        Upsampling factor (4, or 2) of a preset. An external factory gets only
        ``kwargs``: set its scale there, in its own terms.
    flow_weights : str or None, optional
        Local path of pretrained SpyNet weights (BasicSR layout) to load into
        the model's flow network; ``None`` or ``""`` trains SpyNet from scratch.
        Only presets with the full SpyNet (width 1.0, 6 levels) can take them.
    kwargs : Mapping[str, Any], optional
        Keyword arguments of the preset (overriding its sizes) or of the
        external factory.

    Returns
    -------
    nn.Module
        The model, in training mode, on the CPU.

    Raises
    ------
    ValueError
        For an unknown name or scale, or flow weights that do not fit.
    """
    kwargs = dict(kwargs or {})
    if is_import_path(name):
        model = load_factory(name)(**kwargs)
        if not isinstance(model, nn.Module):
            raise ValueError(
                f"model {name!r} returned {type(model).__name__}, not an nn.Module"
            )
    elif name in VSR_MODELS:
        model = VSR_MODELS[name](scale=scale, **kwargs)
    else:
        raise ValueError(
            f"unknown VSR model {name!r}; valid names: {', '.join(VSR_MODELS)}, "
            "or an import path 'package.module:Factory'"
        )
    if flow_weights:
        spynet = getattr(model, "spynet", None)
        if not isinstance(spynet, SpyNet):
            raise ValueError(f"model {name!r} has no SpyNet to load flow weights into")
        if spynet.width != 1.0 or spynet.num_levels != 6:
            presets = ", ".join(FULL_SPYNET_PRESETS)
            raise ValueError(
                f"flow weights {flow_weights!r} need the full SpyNet (width 1.0, 6 "
                f"levels), but {name!r} uses width {spynet.width} and "
                f"{spynet.num_levels} levels; use one of {presets} or set no flow "
                "weights"
            )
        load_spynet_weights(spynet, flow_weights)
    return model
