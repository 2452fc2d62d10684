"""Quality metrics: PSNR and SSIM (BasicSR conventions) and MPII's PCKh.

PSNR and SSIM.

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

__all__ = ["PCKH_MEAN_EXCLUDED", "pckh", "psnr", "rgb_to_y", "ssim"]

#: MPII joints left out of the mean PCKh: pelvis (6) and thorax (7).
PCKH_MEAN_EXCLUDED: tuple[int, ...] = (6, 7)

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


def pckh(
    pred: Tensor,
    gt: Tensor,
    visible: Tensor,
    head_size: Tensor,
    threshold: float = 0.5,
) -> dict[str, list[float] | float]:
    """Percentage of correct keypoints relative to head size (MPII's PCKh).

    A visible joint is correct when its prediction lies within
    ``threshold * head_size`` of the ground truth (head size = 0.6 x the
    head-box diagonal, see :func:`fedvideo.data.pose.head_size`). Joints that
    are not visible are not counted. As in the MPII evaluation, the mean pools
    all visible joints except pelvis and thorax (:data:`PCKH_MEAN_EXCLUDED`),
    so joints are weighted by how often they are visible.

    Parameters
    ----------
    pred, gt : Tensor
        Joint coordinates ``(N, J, 2)`` in the same pixel frame.
    visible : Tensor
        ``(N, J)``, non-zero where the joint is visible.
    head_size : Tensor
        ``(N,)`` head sizes in pixels, > 0.
    threshold : float
        Fraction of the head size, 0.5 for PCKh@0.5, 0.1 for PCKh@0.1.

    Returns
    -------
    dict
        ``"per_joint"``: J percentages (NaN for a joint never visible) and
        ``"mean"``: the percentage over the counted joints (NaN if none).

    Raises
    ------
    ValueError
        If shapes disagree or a head size of a sample with visible joints is
        not positive and finite.
    """
    pred, gt = torch.as_tensor(pred), torch.as_tensor(gt)
    visible, head_size = torch.as_tensor(visible), torch.as_tensor(head_size)
    if pred.dim() != 3 or pred.shape[-1] != 2 or gt.shape != pred.shape:
        raise ValueError(
            f"pckh: pred and gt must be equal (N, J, 2) shapes, got "
            f"{tuple(pred.shape)} and {tuple(gt.shape)}"
        )
    if visible.shape != pred.shape[:2] or head_size.shape != pred.shape[:1]:
        raise ValueError(
            f"pckh: visible must be {tuple(pred.shape[:2])} and head_size "
            f"{tuple(pred.shape[:1])}, got {tuple(visible.shape)} and "
            f"{tuple(head_size.shape)}"
        )
    counted = visible.to(torch.float64) > 0
    head_size = head_size.to(torch.float64)
    used = counted.any(dim=1)
    if not (torch.isfinite(head_size[used]).all() and (head_size[used] > 0).all()):
        raise ValueError("pckh: head sizes of samples with visible joints must be > 0")
    error = torch.linalg.vector_norm(
        pred.to(torch.float64) - gt.to(torch.float64), dim=-1
    )
    safe_size = torch.where(used, head_size, torch.ones_like(head_size))
    correct = (error / safe_size[:, None] <= threshold) & counted
    per_joint_count = counted.sum(dim=0).to(torch.float64)
    per_joint_correct = correct.sum(dim=0).to(torch.float64)
    per_joint = 100.0 * per_joint_correct / per_joint_count
    in_mean = torch.ones(pred.shape[1], dtype=torch.bool)
    in_mean[[j for j in PCKH_MEAN_EXCLUDED if j < pred.shape[1]]] = False
    total = per_joint_count[in_mean].sum()
    mean = 100.0 * per_joint_correct[in_mean].sum() / total if total > 0 else math.nan
    return {"per_joint": per_joint.tolist(), "mean": float(mean)}
