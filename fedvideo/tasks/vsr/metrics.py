"""Video quality metrics: PSNR and SSIM with BasicSR's conventions.

Inputs are RGB float tensors in [0, 1] of shape ``(3, H, W)`` (one image) or
``(N, 3, H, W)`` (the N frames of a clip). As in BasicSR, which first converts
network outputs to 8-bit images, every input is clamped to [0, 1], scaled to
[0, 255] and rounded to integers; the metric is then computed in float64 on
that 0..255 scale (peak value 255). A clip's score is the mean of the
per-frame scores.

With ``y_channel=True`` the metrics are computed on the luma channel of
ITU-R BT.601 (studio range, Y in [16, 235]) as BasicSR's ``test_y_channel``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["psnr", "rgb_to_y", "ssim"]

_SSIM_WIN = 11
_SSIM_SIGMA = 1.5
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2


def rgb_to_y(img: Tensor) -> Tensor:
    """Luma (Y) of ITU-R BT.601 in studio range.

    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B in [0, 1], so the
    result is on the 0..255 scale, in [16, 235] (white -> 235, black -> 16).
    This is BasicSR's ``rgb2ycbcr(..., y_only=True)`` followed by ``* 255``.

    Parameters
    ----------
    img : Tensor
        RGB image(s) in [0, 1] with the channel axis third from the end,
        shape ``(..., 3, H, W)``. No clamping or rounding is applied here.

    Returns
    -------
    Tensor
        Y channel on the 0..255 scale, shape ``(..., 1, H, W)``, in the dtype
        of `img` (float64 if `img` is not floating point).

    Raises
    ------
    ValueError
        If the input does not have 3 channels at dimension -3.
    """
    if img.dim() < 3 or img.shape[-3] != 3:
        raise ValueError(f"rgb_to_y expects (..., 3, H, W), got {tuple(img.shape)}")
    if not img.is_floating_point():
        img = img.to(torch.float64)
    r, g, b = img.unbind(dim=-3)
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    return y.unsqueeze(-3)


def _prepare(
    pred: Tensor, target: Tensor, crop_border: int, y_channel: bool, name: str
) -> tuple[Tensor, Tensor]:
    """Validate, quantize to 8-bit levels, optionally take Y, crop; (N, C, H, W)."""
    if pred.shape != target.shape:
        raise ValueError(
            f"{name}: pred and target shapes differ: {tuple(pred.shape)} vs "
            f"{tuple(target.shape)}"
        )
    if pred.dim() not in (3, 4) or pred.shape[-3] != 3:
        raise ValueError(
            f"{name}: expected RGB images of shape (3, H, W) or (N, 3, H, W), "
            f"got {tuple(pred.shape)}"
        )
    if crop_border < 0:
        raise ValueError(f"{name}: crop_border must be >= 0, got {crop_border}")
    h, w = pred.shape[-2:]
    if 2 * crop_border >= min(h, w):
        raise ValueError(
            f"{name}: crop_border={crop_border} leaves nothing of a {h}x{w} image"
        )
    out = []
    for img in (pred, target):
        img = img.detach()
        if img.dim() == 3:
            img = img.unsqueeze(0)
        # BasicSR's tensor2img: float32, clamp, * 255, round (8-bit levels).
        img = (img.float().clamp(0, 1) * 255.0).round().to(torch.float64)
        if y_channel:
            img = rgb_to_y(img / 255.0)
        if crop_border:
            img = img[..., crop_border:-crop_border, crop_border:-crop_border]
        out.append(img)
    return out[0], out[1]


def psnr(
    pred: Tensor, target: Tensor, crop_border: int = 0, y_channel: bool = False
) -> float:
    """Peak signal-to-noise ratio, ``10 log10(255**2 / MSE)``, in dB.

    Parameters
    ----------
    pred, target : Tensor
        RGB images in [0, 1], shape ``(3, H, W)`` or ``(N, 3, H, W)``; they are
        rounded to 8-bit levels first (see the module docstring).
    crop_border : int, optional
        Pixels removed on every side before computing, by default 0.
    y_channel : bool, optional
        Compute on the BT.601 Y channel instead of RGB, by default False.

    Returns
    -------
    float
        PSNR of the image, or for ``(N, 3, H, W)`` the mean of the N per-image
        PSNRs. ``inf`` when an image's MSE is 0 (so a clip's mean is then
        ``inf`` as well).

    Raises
    ------
    ValueError
        If the shapes differ (both are named), are not RGB images, or
        `crop_border` is negative or too large.
    """
    a, b = _prepare(pred, target, crop_border, y_channel, "psnr")
    mse = (a - b).square().mean(dim=(1, 2, 3))
    values = [
        math.inf if m == 0 else 10.0 * math.log10(255.0**2 / m) for m in mse.tolist()
    ]
    return sum(values) / len(values)


def _gaussian_window(device: torch.device) -> Tensor:
    """Return the normalized 1D Gaussian of length 11, sigma 1.5, in float64."""
    x = torch.arange(_SSIM_WIN, dtype=torch.float64, device=device)
    x = x - (_SSIM_WIN - 1) / 2
    g = torch.exp(-(x**2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _blur_valid(x: Tensor, g: Tensor) -> Tensor:
    """Separable Gaussian filtering of (M, 1, H, W), 'valid' region only."""
    x = F.conv2d(x, g.view(1, 1, -1, 1))
    return F.conv2d(x, g.view(1, 1, 1, -1))


def ssim(
    pred: Tensor, target: Tensor, crop_border: int = 0, y_channel: bool = False
) -> float:
    """Structural similarity index (Wang et al. 2004), BasicSR variant.

    Local statistics use an 11x11 Gaussian window with sigma 1.5 (applied as
    two separable 1D convolutions in float64) with ``C1 = (0.01 * 255)**2`` and
    ``C2 = (0.03 * 255)**2``. Only the 'valid' region is used, without padding,
    so the window trims 5 pixels on each side of the SSIM map. The map mean is
    computed per channel, then averaged over channels (3 for RGB, 1 for Y).

    Parameters
    ----------
    pred, target : Tensor
        RGB images in [0, 1], shape ``(3, H, W)`` or ``(N, 3, H, W)``; they are
        rounded to 8-bit levels first (see the module docstring).
    crop_border : int, optional
        Pixels removed on every side before computing, by default 0.
    y_channel : bool, optional
        Compute on the BT.601 Y channel instead of RGB, by default False.

    Returns
    -------
    float
        SSIM of the image (1.0 for identical images), or for ``(N, 3, H, W)``
        the mean of the N per-image values.

    Raises
    ------
    ValueError
        If the shapes differ, are not RGB images, `crop_border` is invalid, or
        the cropped image is smaller than the 11x11 window.
    """
    a, b = _prepare(pred, target, crop_border, y_channel, "ssim")
    n, c, h, w = a.shape
    if min(h, w) < _SSIM_WIN:
        raise ValueError(
            f"ssim: the (cropped) image is {h}x{w}, smaller than the "
            f"{_SSIM_WIN}x{_SSIM_WIN} window"
        )
    a = a.reshape(n * c, 1, h, w)
    b = b.reshape(n * c, 1, h, w)
    g = _gaussian_window(a.device)
    # One filtering pass over the five local statistics stacked on the batch axis.
    stats = _blur_valid(torch.cat([a, b, a * a, b * b, a * b]), g)
    mu_a, mu_b, e_aa, e_bb, e_ab = stats.chunk(5)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a, var_b, cov = e_aa - mu_aa, e_bb - mu_bb, e_ab - mu_ab
    ssim_map = ((2 * mu_ab + _C1) * (2 * cov + _C2)) / (
        (mu_aa + mu_bb + _C1) * (var_a + var_b + _C2)
    )
    per_image = ssim_map.reshape(n, c, -1).mean(dim=2).mean(dim=1)
    return float(per_image.mean())
