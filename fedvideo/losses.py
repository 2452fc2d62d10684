"""Training losses of fedvideo's tasks.

Video super-resolution (vsr). The FedVSR objective is a pixel-wise Charbonnier
loss plus a *high-frequency* (HiFr) term: both videos are decomposed with a
one-level 3D discrete wavelet transform over (time, height, width) and the
Charbonnier loss is taken between the seven subbands that contain at least one
highpass direction. The HiFr term pushes the model towards sharp spatial detail
and temporally consistent motion edges, which a plain pixel loss tends to blur.

Self-supervised pretraining (ssl): the Catch-the-Patch trajectory loss.

Pose estimation (pose): the visibility-weighted heatmap loss and RAF's
multi-resolution knowledge distillation (MRKD) over a cascade of resolutions.

All functions here are pure and differentiable (only torch operations on the
inputs), so they run on CPU or CUDA in whatever floating dtype the inputs have.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pywt
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "CTP_DELTA_STDS",
    "SUBBANDS",
    "charbonnier",
    "ctp_trajectory_loss",
    "decode_box_deltas",
    "dwt3d",
    "encode_box_deltas",
    "hifr_loss",
    "joints_mse",
    "mrkd_loss",
    "vsr_loss",
]

#: Subband order of :func:`dwt3d` along its third output dimension, identical to
#: the key order of ``pywt.dwtn`` for three axes. Letters are (T, H, W); ``a`` is
#: the lowpass (approximation) branch and ``d`` the highpass (detail) branch.
SUBBANDS: tuple[str, ...] = ("aaa", "aad", "ada", "add", "daa", "dad", "dda", "ddd")

# Filters up to this length use one dense conv3d with eight (L, L, L) kernels;
# longer ones use three separable passes. Forward+backward on a float32
# (4, 3, 8, 64, 64) batch with 2 CPU threads: Haar 3.6 ms dense vs 9.6 ms
# separable, db2 13.6 vs 14.0 ms, sym4 87 vs 19 ms (L**3 taps grow fast).
_DENSE_MAX_TAPS = 4


def _check_same_shape(sr: Tensor, hr: Tensor, name: str) -> None:
    if sr.shape != hr.shape:
        raise ValueError(
            f"{name}: sr and hr must have the same shape, got {tuple(sr.shape)} "
            f"and {tuple(hr.shape)}"
        )


def charbonnier(sr: Tensor, hr: Tensor, eps: float = 1e-9) -> Tensor:
    """Charbonnier (smooth L1) loss, ``mean(sqrt((sr - hr)**2 + eps))``.

    Parameters
    ----------
    sr : Tensor
        Prediction, any shape.
    hr : Tensor
        Target, same shape as `sr` (no broadcasting).
    eps : float, optional
        Smoothing constant added under the square root, by default ``1e-9``.
        The loss of two identical tensors is therefore ``sqrt(eps)``, not 0.

    Returns
    -------
    Tensor
        Scalar tensor (0-d) in the dtype of the inputs.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    _check_same_shape(sr, hr, "charbonnier")
    return torch.sqrt((sr - hr).square() + eps).mean()


@functools.lru_cache(maxsize=64)
def _filter_pair(wavelet: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Return the decomposition filters of `wavelet`, flipped for correlation.

    Returns a ``(2, L)`` tensor whose rows are the reversed ``dec_lo`` and
    ``dec_hi`` taps of ``pywt.Wavelet(wavelet)``; torch convolutions are
    cross-correlations, so reversing turns them into true convolutions.
    """
    w = pywt.Wavelet(wavelet)
    taps = torch.tensor([w.dec_lo[::-1], w.dec_hi[::-1]], dtype=torch.float64)
    if taps.shape[1] % 2:
        raise ValueError(f"wavelet {wavelet!r} has an odd filter length")
    return taps.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=64)
def _filter_cube(wavelet: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Build the eight separable 3D filters as a conv3d weight (8, 1, L, L, L).

    Output channel ``4 * t + 2 * h + w`` is the outer product of the T, H and W
    branch filters (0 = lowpass, 1 = highpass), matching :data:`SUBBANDS`.
    """
    k = _filter_pair(wavelet, torch.float64, torch.device("cpu"))
    n = k.shape[1]
    cube = torch.einsum("ai,bj,ck->abcijk", k, k, k).reshape(8, 1, n, n, n)
    return cube.to(dtype=dtype, device=device)


def _wrap(x: Tensor, dim: int, pad: int) -> Tensor:
    """Periodically extend `x` by `pad` samples on both ends of `dim`.

    Uses modular indices, so `pad` may exceed the size of `dim` (long filters
    on short signals wrap around several times, like PyWavelets does).
    """
    if pad == 0:
        return x
    n = x.shape[dim]
    idx = torch.arange(-pad, n + pad, device=x.device) % n
    return x.index_select(dim, idx)


def _dwt3d_dense(x: Tensor, wavelet: str) -> Tensor:
    """One conv3d with eight (L, L, L) kernels; see :func:`dwt3d`."""
    b, c, t, h, w = x.shape
    kernel = _filter_cube(wavelet, x.dtype, x.device)
    pad = kernel.shape[-1] // 2 - 1
    y = x.reshape(b * c, 1, t, h, w)
    for dim in (2, 3, 4):
        y = _wrap(y, dim, pad)
    y = F.conv3d(y, kernel, stride=2)
    return y.reshape(b, c, 8, t // 2, h // 2, w // 2)


def _dwt3d_separable(x: Tensor, wavelet: str) -> Tensor:
    """Three strided conv3d passes with 1D kernels (T, then H, then W).

    Each pass doubles the channel axis (lowpass, highpass), so after the three
    passes the channel index is ``4 * t + 2 * h + w`` as in :data:`SUBBANDS`.
    """
    b, c, t, h, w = x.shape
    k = _filter_pair(wavelet, x.dtype, x.device)
    n = k.shape[1]
    pad = n // 2 - 1
    y = x.reshape(b * c, 1, t, h, w)
    y = F.conv3d(_wrap(y, 2, pad), k.view(2, 1, n, 1, 1), stride=(2, 1, 1))
    y = y.reshape(b * c * 2, 1, t // 2, h, w)
    y = F.conv3d(_wrap(y, 3, pad), k.view(2, 1, 1, n, 1), stride=(1, 2, 1))
    y = y.reshape(b * c * 4, 1, t // 2, h // 2, w)
    y = F.conv3d(_wrap(y, 4, pad), k.view(2, 1, 1, 1, n), stride=(1, 1, 2))
    return y.reshape(b, c, 8, t // 2, h // 2, w // 2)


def dwt3d(x: Tensor, wavelet: str = "haar") -> Tensor:
    """One-level 3D discrete wavelet transform over (T, H, W).

    Equivalent to ``pywt.dwtn(x, wavelet, mode="periodization", axes=(2, 3, 4))``
    with the eight subbands stacked in :data:`SUBBANDS` order, but made of torch
    operations, so it is differentiable and runs on the device and in the dtype
    of `x` (float16/bfloat16 included; the arithmetic happens in that dtype).

    Periodization means the signal is extended periodically along each axis and
    every output has exactly half the input length. Along one axis of length
    ``N`` with filter ``f`` of even length ``L`` the transform is::

        y[k] = sum_j f[j] * x[(2 * k + L // 2 - j) mod N],  k = 0 .. N/2 - 1

    For Haar on even sizes this coincides with every other PyWavelets mode. The
    filter taps are ``pywt.Wavelet(wavelet).dec_lo`` / ``dec_hi``, cached per
    (wavelet, dtype, device).

    Parameters
    ----------
    x : Tensor
        Floating tensor of shape ``(B, C, T, H, W)``; T, H and W must be even.
    wavelet : str, optional
        Name of a discrete PyWavelets wavelet, by default ``"haar"``.

    Returns
    -------
    Tensor
        Shape ``(B, C, 8, T // 2, H // 2, W // 2)``; index 0 is the ``aaa``
        (all-lowpass) band and indices 1..7 are the high-frequency bands.

    Raises
    ------
    ValueError
        If `x` is not 5-D or one of T, H, W is odd (the message names it).
    TypeError
        If `x` is not a floating-point tensor.

    Notes
    -----
    Filters of length <= 4 (Haar, db2) use a single conv3d with eight
    ``(L, L, L)`` kernels, which was the fastest on the benchmark batch; longer
    filters use three separable strided conv3d passes, whose cost grows with
    ``3 L`` instead of ``L**3``. No Python loop runs over B, C or T.
    """
    if x.dim() != 5:
        raise ValueError(
            f"dwt3d expects a 5-D tensor (B, C, T, H, W), got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"dwt3d expects a floating-point tensor, got {x.dtype}")
    for name, size in zip(("T", "H", "W"), x.shape[2:], strict=True):
        if size % 2:
            raise ValueError(
                f"dwt3d needs even T, H and W, but {name}={size} is odd "
                f"(input shape {tuple(x.shape)})"
            )
    if _filter_pair(wavelet, x.dtype, x.device).shape[1] <= _DENSE_MAX_TAPS:
        return _dwt3d_dense(x, wavelet)
    return _dwt3d_separable(x, wavelet)


def hifr_loss(
    sr: Tensor, hr: Tensor, wavelet: str = "haar", eps: float = 1e-9
) -> Tensor:
    """High-frequency (HiFr) loss of FedVSR.

    Both clips are transformed with :func:`dwt3d` and the Charbonnier loss is
    averaged over the seven high-frequency subbands (every band except ``aaa``).
    Because the DWT is linear, the transform is applied once to ``sr - hr``,
    which gives the same subband differences at half the cost.

    Parameters
    ----------
    sr : Tensor
        Super-resolved clip, shape ``(B, T, C, H, W)`` (the VSR model layout).
    hr : Tensor
        Ground-truth clip, same shape as `sr`.
    wavelet : str, optional
        PyWavelets wavelet name, by default ``"haar"``.
    eps : float, optional
        Charbonnier constant, by default ``1e-9``.

    Returns
    -------
    Tensor
        Scalar tensor. Identical inputs give ``sqrt(eps)``; a constant offset
        between the clips only changes the ``aaa`` band, so it also gives
        ``sqrt(eps)`` up to rounding.

    Raises
    ------
    ValueError
        If the shapes differ, the inputs are not 5-D, or H or W is odd.

    Notes
    -----
    If T is odd, the last frame of both clips is dropped so that any clip
    length works (a single frame, T = 1, cannot be transformed and raises).
    """
    _check_same_shape(sr, hr, "hifr_loss")
    if sr.dim() != 5:
        raise ValueError(
            f"hifr_loss expects (B, T, C, H, W) clips, got shape {tuple(sr.shape)}"
        )
    diff = sr - hr
    if diff.shape[1] % 2:
        diff = diff[:, :-1]
    bands = dwt3d(diff.permute(0, 2, 1, 3, 4), wavelet)
    return torch.sqrt(bands[:, :, 1:].square() + eps).mean()


def vsr_loss(
    sr: Tensor, hr: Tensor, hifr_weight: float = 1.0, wavelet: str = "haar"
) -> tuple[Tensor, dict[str, float]]:
    """FedVSR training objective, ``charbonnier + hifr_weight * hifr_loss``.

    Parameters
    ----------
    sr : Tensor
        Super-resolved clip, shape ``(B, T, C, H, W)``.
    hr : Tensor
        Ground-truth clip, same shape as `sr`.
    hifr_weight : float, optional
        Weight of :func:`hifr_loss`, by default 1.0. With 0 the HiFr term is not
        computed at all and the loss is the plain Charbonnier loss.
    wavelet : str, optional
        Wavelet of the HiFr term, by default ``"haar"``.

    Returns
    -------
    total : Tensor
        Scalar loss to back-propagate.
    parts : dict[str, float]
        Detached Python floats for logging: ``"pixel"`` (Charbonnier) and
        ``"hifr"`` (unweighted HiFr loss, 0.0 when not computed).

    Raises
    ------
    ValueError
        If `hifr_weight` is negative or the shapes are invalid.
    """
    if hifr_weight < 0:
        raise ValueError(f"hifr_weight must be >= 0, got {hifr_weight}")
    pixel = charbonnier(sr, hr)
    if hifr_weight == 0:
        return pixel, {"pixel": float(pixel.detach()), "hifr": 0.0}
    hifr = hifr_loss(sr, hr, wavelet=wavelet)
    total = pixel + hifr_weight * hifr
    return total, {"pixel": float(pixel.detach()), "hifr": float(hifr.detach())}


#: Standard deviations that divide the (dx, dy, dw, dh) box deltas of CtP, so
#: that the regression targets have roughly unit scale.
CTP_DELTA_STDS: tuple[float, float, float, float] = (0.8, 0.8, 0.04, 0.04)


def _stds_tensor(stds: Sequence[float], like: Tensor) -> Tensor:
    """Return `stds` as a positive ``(4,)`` tensor on the device/dtype of `like`."""
    values = tuple(float(s) for s in stds)
    if len(values) != 4 or not all(s > 0 for s in values):
        raise ValueError(f"stds must be four positive numbers, got {tuple(stds)!r}")
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _check_boxes_and_rois(boxes: Tensor, rois: Tensor, name: str) -> None:
    if boxes.dim() < 2 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{name}: expected (..., T, 4) per-frame values, got shape "
            f"{tuple(boxes.shape)}"
        )
    if rois.shape != boxes.shape[:-2] + (4,):
        raise ValueError(
            f"{name}: rois must have shape {tuple(boxes.shape[:-2]) + (4,)} for "
            f"boxes/deltas of shape {tuple(boxes.shape)}, got {tuple(rois.shape)}"
        )


def encode_box_deltas(
    boxes: Tensor, rois: Tensor, stds: Sequence[float] = CTP_DELTA_STDS
) -> Tensor:
    """Encode per-frame boxes as normalised deltas relative to one RoI.

    CtP's trajectory targets, in continuous pixel coordinates of the clip
    (widths are ``x2 - x1``, no ``+ 1``)::

        dx = (gx - rx) / stds[0]      dw = log(gw / rw) / stds[2]
        dy = (gy - ry) / stds[1]      dh = log(gh / rh) / stds[3]

    where ``(gx, gy)``, ``(gw, gh)`` are a box's centre and size and
    ``(rx, ry)``, ``(rw, rh)`` those of its RoI: centre offsets in pixels,
    size changes in log scale.

    Parameters
    ----------
    boxes : Tensor
        ``(..., T, 4)`` boxes ``(x1, y1, x2, y2)``; positive widths and heights.
    rois : Tensor
        ``(..., 4)`` boxes, one per trajectory (shared by its T frames), with
        positive widths and heights; the leading dimensions equal those of
        `boxes`.
    stds : Sequence[float], optional
        Four positive divisors, by default :data:`CTP_DELTA_STDS`.

    Returns
    -------
    Tensor
        ``(..., T, 4)`` deltas ``(dx, dy, dw, dh)`` in the dtype of `boxes`.

    Raises
    ------
    ValueError
        If the shapes do not match or `stds` is not four positive numbers.
    """
    _check_boxes_and_rois(boxes, rois, "encode_box_deltas")
    std = _stds_tensor(stds, boxes)
    rois = rois.to(boxes.dtype).unsqueeze(-2)
    roi_size = rois[..., 2:] - rois[..., :2]
    roi_centre = rois[..., :2] + 0.5 * roi_size
    size = boxes[..., 2:] - boxes[..., :2]
    centre = boxes[..., :2] + 0.5 * size
    deltas = torch.cat([centre - roi_centre, torch.log(size / roi_size)], -1)
    return deltas / std


def decode_box_deltas(
    deltas: Tensor, rois: Tensor, stds: Sequence[float] = CTP_DELTA_STDS
) -> Tensor:
    """Turn normalised deltas back into boxes; the inverse of :func:`encode_box_deltas`.

    Parameters
    ----------
    deltas : Tensor
        ``(..., T, 4)`` deltas ``(dx, dy, dw, dh)`` (e.g. a CtP head's output).
    rois : Tensor
        ``(..., 4)`` RoIs ``(x1, y1, x2, y2)``, one per trajectory.
    stds : Sequence[float], optional
        The divisors used for encoding, by default :data:`CTP_DELTA_STDS`.

    Returns
    -------
    Tensor
        ``(..., T, 4)`` boxes ``(x1, y1, x2, y2)`` in the dtype of `deltas`.

    Raises
    ------
    ValueError
        If the shapes do not match or `stds` is not four positive numbers.
    """
    _check_boxes_and_rois(deltas, rois, "decode_box_deltas")
    scaled = deltas * _stds_tensor(stds, deltas)
    rois = rois.to(deltas.dtype).unsqueeze(-2)
    roi_size = rois[..., 2:] - rois[..., :2]
    roi_centre = rois[..., :2] + 0.5 * roi_size
    centre = roi_centre + scaled[..., :2]
    half = 0.5 * roi_size * torch.exp(scaled[..., 2:])
    return torch.cat([centre - half, centre + half], -1)


def ctp_trajectory_loss(
    pred_deltas: Tensor,
    boxes: Tensor,
    rois: Tensor | None = None,
    stds: Sequence[float] = CTP_DELTA_STDS,
) -> tuple[Tensor, dict[str, float]]:
    """Catch-the-Patch (CtP) trajectory regression loss.

    The target of patch ``p`` of clip ``n`` is
    ``encode_box_deltas(boxes[n, p], rois[n, p], stds)``, its box on every frame
    relative to the RoI the head pooled (by default the frame-0 box). The loss
    is the Smooth-L1 loss (``beta = 1``: ``0.5 x**2`` for ``|x| < 1``, else
    ``|x| - 0.5``) averaged over all elements, taken separately for the centre
    deltas ``(dx, dy)`` and the size deltas ``(dw, dh)``; the total is their
    sum. The computation is done in at least float32 and the target carries no
    gradient.

    Parameters
    ----------
    pred_deltas : Tensor
        Predicted deltas ``(N, P, T, 4)``.
    boxes : Tensor
        Ground-truth boxes ``(N, P, T, 4)`` ``(x1, y1, x2, y2)`` (e.g. from
        :func:`fedvideo.data.ctp_augment.paste_moving_patches`, batched).
    rois : Tensor or None, optional
        ``(N, P, 4)`` RoIs; by default ``boxes[:, :, 0]``.
    stds : Sequence[float], optional
        Delta divisors, by default :data:`CTP_DELTA_STDS`.

    Returns
    -------
    total : Tensor
        Scalar loss ``center + size`` to back-propagate.
    parts : dict[str, float]
        Detached Python floats ``"center"`` and ``"size"``.

    Raises
    ------
    ValueError
        If a shape is wrong (the message gives the expected one).
    """
    if pred_deltas.dim() != 4 or pred_deltas.shape[-1] != 4:
        raise ValueError(
            f"ctp_trajectory_loss: pred_deltas must have shape (N, P, T, 4), got "
            f"{tuple(pred_deltas.shape)}"
        )
    if boxes.shape != pred_deltas.shape:
        raise ValueError(
            f"ctp_trajectory_loss: boxes must have the shape of pred_deltas "
            f"{tuple(pred_deltas.shape)}, got {tuple(boxes.shape)}"
        )
    if rois is None:
        rois = boxes[:, :, 0]
    elif rois.shape != pred_deltas.shape[:2] + (4,):
        raise ValueError(
            f"ctp_trajectory_loss: rois must have shape "
            f"{tuple(pred_deltas.shape[:2]) + (4,)}, got {tuple(rois.shape)}"
        )
    dtype = torch.promote_types(pred_deltas.dtype, torch.float32)
    pred = pred_deltas.to(dtype)
    with torch.no_grad():
        target = encode_box_deltas(boxes.to(dtype), rois.to(dtype), stds)
    center = F.smooth_l1_loss(pred[..., :2], target[..., :2], beta=1.0)
    size = F.smooth_l1_loss(pred[..., 2:], target[..., 2:], beta=1.0)
    total = center + size
    return total, {"center": float(center.detach()), "size": float(size.detach())}


def joints_mse(pred: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Visibility-weighted heatmap MSE, averaged over joints (``JointsMSE``).

    For every joint ``j`` the mean squared error between ``pred[:, j] * w_j`` and
    ``target[:, j] * w_j`` over the batch and the heatmap pixels; the loss is the
    mean over joints. A joint with weight 0 (not visible) contributes 0 but still
    counts in the mean, as in mmpose's ``JointsMSELoss``.

    Parameters
    ----------
    pred, target : Tensor
        Heatmaps ``(N, J, H, W)``.
    weights : Tensor
        Per-joint weights ``(N, J)``, usually the visibility flags.

    Returns
    -------
    Tensor
        Scalar loss in at least float32.

    Raises
    ------
    ValueError
        If the shapes do not match.
    """
    if pred.dim() != 4 or pred.shape != target.shape:
        raise ValueError(
            f"joints_mse: pred and target must be equal (N, J, H, W) shapes, got "
            f"{tuple(pred.shape)} and {tuple(target.shape)}"
        )
    if weights.shape != pred.shape[:2]:
        raise ValueError(
            f"joints_mse: weights must have shape {tuple(pred.shape[:2])}, got "
            f"{tuple(weights.shape)}"
        )
    dtype = torch.promote_types(pred.dtype, torch.float32)
    w = weights.to(dtype)[..., None, None]
    squared = (pred.to(dtype) * w - target.to(dtype) * w) ** 2
    return squared.mean(dim=(0, 2, 3)).mean()


def mrkd_loss(
    outputs: Sequence[Tensor],
    targets: Sequence[Tensor],
    weights: Sequence[Tensor],
    kd_weight: float = 1.0,
) -> tuple[Tensor, dict[str, float]]:
    """RAF's multi-resolution knowledge distillation (MRKD) objective.

    ``outputs`` are the model's heatmaps for copies of the same samples ordered
    from the highest resolution to the lowest. Each copy is supervised by its
    ground truth, and every copy but the first also by the next-higher copy's
    prediction (the cascade teacher), detached and compared after nearest
    upsampling of the student to the teacher's heatmap size::

        loss_r = JointsMSE(o_r, gt_r)
                 + [r > 1] * kd_weight * JointsMSE(up(o_r), stopgrad(o_{r-1}))
        total  = mean_r loss_r

    With one resolution this is plain ``JointsMSE``.

    Parameters
    ----------
    outputs, targets, weights : Sequence[Tensor]
        Per resolution, high to low: heatmaps ``(N, J, H_r, W_r)``, target
        heatmaps of the same shape, visibility weights ``(N, J)``.
    kd_weight : float
        Weight of the distillation terms; 0 trains every copy on its labels only.

    Returns
    -------
    total : Tensor
        Scalar loss to back-propagate.
    parts : dict[str, float]
        ``"heatmap"`` (mean supervised term) and ``"kd"`` (mean distillation
        term over the resolutions that have a teacher; 0 with one resolution).

    Raises
    ------
    ValueError
        If the sequences are empty or of different lengths.
    """
    if not outputs or not len(outputs) == len(targets) == len(weights):
        raise ValueError(
            "mrkd_loss: outputs, targets and weights must be non-empty and of equal "
            f"length, got {len(outputs)}, {len(targets)}, {len(weights)}"
        )
    supervised = [
        joints_mse(out, gt, w)
        for out, gt, w in zip(outputs, targets, weights, strict=True)
    ]
    distilled = []
    for r in range(1, len(outputs)):
        teacher = outputs[r - 1].detach()
        student = F.interpolate(outputs[r], size=teacher.shape[-2:], mode="nearest")
        distilled.append(joints_mse(student, teacher, weights[r]))
    supervised_sum = sum(supervised)
    distilled_sum = sum(distilled) if distilled else None
    total = supervised_sum
    if distilled_sum is not None:
        total = total + kd_weight * distilled_sum
    parts = {
        "heatmap": float(supervised_sum.detach()) / len(supervised),
        "kd": float(distilled_sum.detach()) / len(distilled) if distilled else 0.0,
    }
    return total / len(outputs), parts
