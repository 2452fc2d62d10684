"""Backward warping of images or feature maps with a dense optical flow."""

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["flow_warp"]


def flow_warp(
    x: Tensor,
    flow: Tensor,
    interpolation: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool = True,
) -> Tensor:
    """Warp ``x`` with a dense flow field (backward warping via ``grid_sample``).

    The output at pixel ``(px, py)`` is ``x`` sampled at
    ``(px + flow[:, 0, py, px], py + flow[:, 1, py, px])``, so a flow computed by
    :class:`~fedvideo.tasks.vsr.models.spynet.SpyNet` with ``ref`` and ``supp`` aligns
    ``supp`` (or features of it) to ``ref``.

    The sampling runs in (at least) float32 with autocast disabled, because
    normalised grid coordinates lose sub-pixel accuracy in half precision; the
    result is cast back to the dtype of ``x``.

    Parameters
    ----------
    x : Tensor
        Images or features, shape (N, C, H, W).
    flow : Tensor
        Flow in pixels, shape (N, 2, H, W), channels first: channel 0 is the
        horizontal (x) displacement, channel 1 the vertical (y) displacement.
    interpolation : str, optional
        ``"bilinear"`` (default), ``"nearest"`` or ``"bicubic"``.
    padding_mode : str, optional
        Value for samples outside ``x``: ``"zeros"`` (default), ``"border"`` or
        ``"reflection"``.
    align_corners : bool, optional
        Convention passed to ``grid_sample``. With either value an all-zero flow
        reproduces ``x`` exactly.

    Returns
    -------
    Tensor
        Warped ``x``, shape (N, C, H, W), same dtype as ``x``.
    """
    if x.dim() != 4 or flow.dim() != 4 or flow.size(1) != 2:
        raise ValueError(
            "flow_warp expects x of shape (N, C, H, W) and flow of shape "
            f"(N, 2, H, W), got {tuple(x.shape)} and {tuple(flow.shape)}"
        )
    n, _, h, w = x.shape
    if flow.size(0) != n or flow.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"flow {tuple(flow.shape)} does not match x {tuple(x.shape)} in batch "
            "or spatial size"
        )
    # At least float32 (float64 stays float64).
    dtype = torch.promote_types(x.dtype, torch.float32)
    with torch.autocast(device_type=x.device.type, enabled=False):
        flow = flow.to(dtype)
        ys = torch.arange(h, device=x.device, dtype=dtype)
        xs = torch.arange(w, device=x.device, dtype=dtype)
        gx = xs.view(1, 1, w) + flow[:, 0]
        gy = ys.view(1, h, 1) + flow[:, 1]
        # Pixel coordinates -> [-1, 1] for the chosen corner convention.
        if align_corners:
            gx = gx * (2.0 / max(w - 1, 1)) - 1.0
            gy = gy * (2.0 / max(h - 1, 1)) - 1.0
        else:
            gx = (2.0 * gx + 1.0) / w - 1.0
            gy = (2.0 * gy + 1.0) / h - 1.0
        grid = torch.stack((gx, gy), dim=-1)
        out = F.grid_sample(
            x.to(dtype),
            grid,
            mode=interpolation,
            padding_mode=padding_mode,
            align_corners=align_corners,
        )
    return out.to(x.dtype)
