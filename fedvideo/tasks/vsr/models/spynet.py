"""SpyNet optical flow (Ranjan & Black, CVPR 2017), in the form BasicVSR uses.

The parameter layout follows BasicSR's ``SpyNet``
(``basic_module.{level}.basic_module.{0,2,4,6,8}.{weight,bias}``), so a local copy
of the published pretrained SpyNet weights loads with :func:`load_spynet_weights`.
"""

import itertools
import math
from os import PathLike

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fedvideo.fl.weights import compare_state

from .pretrained import read_vsr_state
from .warp import flow_warp

__all__ = ["SpyNet", "SpyNetBasicModule", "bidirectional_flows", "load_spynet_weights"]

_HIDDEN = (32, 64, 32, 16)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
# Constants some checkpoints carry; they are non-persistent buffers here.
_OPTIONAL_KEYS = frozenset({"mean", "std"})


class SpyNetBasicModule(nn.Module):
    """Residual flow predictor of one pyramid level.

    Five 7×7 convolutions, 8 → h1 → h2 → h3 → h4 → 2, with ReLU in between and
    none after the last.

    Parameters
    ----------
    width : float, optional
        Multiplier of the hidden channels (32, 64, 32, 16). 1.0 is the published
        network.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        channels = [8, *(max(1, round(c * width)) for c in _HIDDEN), 2]
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(itertools.pairwise(channels)):
            if i > 0:
                layers.append(nn.ReLU(inplace=False))
            layers.append(nn.Conv2d(cin, cout, kernel_size=7, stride=1, padding=3))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Predict a flow residual, (N, 8, H, W) → (N, 2, H, W)."""
        return self.basic_module(x)


class SpyNet(nn.Module):
    """Spatial pyramid network for optical flow.

    ``forward(ref, supp)`` returns the flow from ``ref`` to ``supp``:
    ``flow_warp(supp, flow)`` aligns ``supp`` to ``ref``.

    The computation runs in the module's dtype, float32 by default, with autocast
    disabled inside, since
    the coarse-to-fine flow accumulation and the warps are precision-sensitive
    and SpyNet is a small part of the cost of BasicVSR.

    Parameters
    ----------
    num_levels : int, optional
        Pyramid levels (default 6, as published). Inputs are resized internally to
        multiples of ``2 ** (num_levels - 1)``.
    width : float, optional
        Multiplier of the hidden channels of every level's basic module
        (default 1.0, the published network).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, num_levels: int = 6, width: float = 1.0) -> None:
        super().__init__()
        if num_levels < 1:
            raise ValueError(f"num_levels must be >= 1, got {num_levels}")
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")
        self.num_levels = num_levels
        self.width = width
        self.basic_module = nn.ModuleList(
            SpyNetBasicModule(width) for _ in range(num_levels)
        )
        # ImageNet statistics: constants, kept out of the state_dict.
        self.register_buffer(
            "mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False
        )

    @property
    def size_multiple(self) -> int:
        """Side lengths the pyramid needs: ``2 ** (num_levels - 1)``."""
        return 2 ** (self.num_levels - 1)

    def _pyramid_flow(self, ref: Tensor, supp: Tensor) -> Tensor:
        """Coarse-to-fine flow for inputs whose sides divide by size_multiple."""
        refs = [(ref - self.mean) / self.std]
        supps = [(supp - self.mean) / self.std]
        for _ in range(self.num_levels - 1):
            refs.insert(0, F.avg_pool2d(refs[0], kernel_size=2, stride=2))
            supps.insert(0, F.avg_pool2d(supps[0], kernel_size=2, stride=2))

        n, _, h0, w0 = refs[0].shape
        flow = refs[0].new_zeros(n, 2, h0, w0)
        for level, (r, s) in enumerate(zip(refs, supps, strict=True)):
            if level > 0:
                flow = 2.0 * F.interpolate(
                    flow, scale_factor=2, mode="bilinear", align_corners=True
                )
                warped = flow_warp(s, flow, padding_mode="border")
            else:
                warped = s  # the initial flow is zero
            flow = flow + self.basic_module[level](torch.cat((r, warped, flow), 1))
        return flow

    def forward(self, ref: Tensor, supp: Tensor) -> Tensor:
        """Estimate the flow from ``ref`` to ``supp``.

        Parameters
        ----------
        ref, supp : Tensor
            RGB frames in [0, 1], shape (N, 3, H, W), any H and W.

        Returns
        -------
        Tensor
            Flow in pixels of the input resolution, shape (N, 2, H, W), in the
            module's dtype (float32, also under autocast); channel 0 is x,
            channel 1 is y.
        """
        if ref.shape != supp.shape or ref.dim() != 4 or ref.size(1) != 3:
            raise ValueError(
                "SpyNet expects ref and supp of equal shape (N, 3, H, W), got "
                f"{tuple(ref.shape)} and {tuple(supp.shape)}"
            )
        h, w = ref.shape[-2:]
        m = self.size_multiple
        h_in, w_in = math.ceil(h / m) * m, math.ceil(w / m) * m
        dtype = self.mean.dtype  # float32 unless the whole module was converted
        with torch.autocast(device_type=ref.device.type, enabled=False):
            ref, supp = ref.to(dtype), supp.to(dtype)
            resize = (h_in, w_in) != (h, w)
            if resize:
                ref = F.interpolate(
                    ref, size=(h_in, w_in), mode="bilinear", align_corners=False
                )
                supp = F.interpolate(
                    supp, size=(h_in, w_in), mode="bilinear", align_corners=False
                )
            flow = self._pyramid_flow(ref, supp)
            if resize:
                flow = F.interpolate(
                    flow, size=(h, w), mode="bilinear", align_corners=False
                )
                ratio = flow.new_tensor((w / w_in, h / h_in)).view(1, 2, 1, 1)
                flow = flow * ratio
        return flow


def bidirectional_flows(
    spynet: SpyNet,
    lrs: Tensor,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> tuple[Tensor, Tensor]:
    """Flows between neighbouring frames, both directions, in one SpyNet call.

    Parameters
    ----------
    spynet : SpyNet
        The flow network.
    lrs : Tensor
        Clip of shape (B, T, 3, h, w), T >= 2.
    memory_format : torch.memory_format, optional
        Layout of the frame pairs handed to SpyNet (channels-last is faster
        on the CPU).

    Returns
    -------
    flows_forward : Tensor
        (B, T-1, 2, h, w); entry i aligns frame i to frame i+1.
    flows_backward : Tensor
        (B, T-1, 2, h, w); entry i aligns frame i+1 to frame i.
    """
    b, t, c, h, w = lrs.shape
    prev = lrs[:, :-1].reshape(-1, c, h, w)
    nxt = lrs[:, 1:].reshape(-1, c, h, w)
    ref = torch.cat((prev, nxt)).contiguous(memory_format=memory_format)
    supp = torch.cat((nxt, prev)).contiguous(memory_format=memory_format)
    flows = spynet(ref, supp)
    flows_backward, flows_forward = flows.reshape(2, b, t - 1, 2, h, w).unbind(0)
    return flows_forward, flows_backward


def load_spynet_weights(model: SpyNet, path: str | PathLike[str]) -> None:
    """Load SpyNet weights from a local file into ``model`` (in place).

    Parameters
    ----------
    model : SpyNet
        The network to fill. The published BasicSR weights fit ``num_levels=6``
        and ``width=1.0`` only.
    path : str or PathLike
        A torch or safetensors file: a state_dict, raw or wrapped as
        :func:`~fedvideo.tasks.vsr.models.pretrained.read_vsr_state` reads it
        (``'params'``, ``'state_dict'``, ...). A ``module.`` prefix on every key
        is stripped; ``mean``/``std`` entries are accepted and ignored.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read as tensors or its keys or shapes do not match
        ``model``; the message names the file and lists the first missing,
        unexpected and mismatched keys.
    """
    path = str(path)
    try:
        state, _ = read_vsr_state(path)
    except (FileNotFoundError, ValueError):
        raise
    except Exception as exc:  # unpickling errors come in many types
        raise ValueError(f"{path}: cannot read SpyNet weights: {exc}") from exc

    given = {k: v for k, v in state.items() if k not in _OPTIONAL_KEYS}
    given, report = compare_state(given, model.state_dict())
    if not report.complete:
        head = f"SpyNet(num_levels={model.num_levels}, width={model.width})"
        lines = [f"{path}: weights do not fit {head}", *report.problems()]
        if model.width != 1.0 or model.num_levels != 6:
            lines.append("the published SpyNet weights need num_levels=6 and width=1.0")
        raise ValueError("; ".join(lines))
    model.load_state_dict(given, strict=True)
