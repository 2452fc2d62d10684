"""Pretext losses: Catch-the-Patch trajectories, VCOP and Speed classification.

The Catch-the-Patch trajectory loss comes with its box-delta encoding; VCOP and
Speed share one cross-entropy with its trivial baselines.

All functions here are pure and differentiable (only torch operations on the
inputs), so they run on CPU or CUDA in whatever floating dtype the inputs have.
VCOP is clip order prediction (Xu et al., CVPR 2019), Speed playback-rate
classification (Benaim et al., "SpeedNet", CVPR 2020); see
:mod:`fedvideo.tasks.ssl.models.vcop` and :mod:`fedvideo.tasks.ssl.models.speed`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CTP_DELTA_STDS",
    "classification_batch_loss",
    "classification_loss",
    "ctp_batch_loss",
    "ctp_trajectory_loss",
    "decode_box_deltas",
    "encode_box_deltas",
    "no_motion_loss",
    "speed_batch_loss",
    "vcop_batch_loss",
]

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
    relative to the RoI the head pooled (by default the frame-0 box). With the
    Smooth-L1 loss ``s`` (``beta = 1``: ``0.5 x**2`` for ``|x| < 1``, else
    ``|x| - 0.5``), the reduction is the official CtP one (``CtPHead.loss``)::

        center = sum over (n, p, t) of s(dx) + s(dy), divided by N * P * T
        size   = sum over (n, p, t) of s(dw) + s(dh), divided by N * P * T

    i.e. summed over the coordinates of each part and averaged over the
    (clip, patch, frame) entries, and the total is ``center + size``. The
    computation is done in at least float32 and the target carries no
    gradient.

    Parameters
    ----------
    pred_deltas : Tensor
        Predicted deltas ``(N, P, T, 4)``.
    boxes : Tensor
        Ground-truth boxes ``(N, P, T, 4)`` ``(x1, y1, x2, y2)`` (e.g. from
        :func:`fedvideo.tasks.ssl.data.ctp_augment.paste_moving_patches`, batched).
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
    count = max(pred.shape[:3].numel(), 1)
    errors = F.smooth_l1_loss(pred, target, beta=1.0, reduction="none")
    center = errors[..., :2].sum() / count
    size = errors[..., 2:].sum() / count
    total = center + size
    return total, {"center": float(center.detach()), "size": float(size.detach())}


def no_motion_loss(boxes: Tensor, stds: Sequence[float] = CTP_DELTA_STDS) -> float:
    """Trajectory loss of predicting no motion: every box stays at its RoI.

    The loss :func:`ctp_trajectory_loss` gives zero deltas on these boxes: the
    trivial baseline a backbone must beat to have learned anything about the
    patches' motion.

    Parameters
    ----------
    boxes : Tensor
        Ground-truth boxes ``(N, P, T, 4)``; the RoIs are the frame-0 boxes.
    stds : Sequence[float], optional
        Delta divisors, by default :data:`CTP_DELTA_STDS`.

    Returns
    -------
    float
        The loss ``center + size`` of zero deltas.
    """
    zeros = torch.zeros_like(boxes, dtype=torch.float32)
    total, _ = ctp_trajectory_loss(zeros, boxes, stds=stds)
    return float(total)


def ctp_batch_loss(
    model: nn.Module, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """CtP trajectory loss of ``model`` on a batch of ``{"clip", "boxes"}``.

    The parts are ``"center"`` and ``"size"`` (the terms of the loss) and
    ``"no_motion"``, the loss of predicting no motion on the same batch
    (:func:`no_motion_loss`): a reference, not a term.
    """
    boxes = batch["boxes"]
    deltas = model(batch["clip"], boxes[:, :, 0])
    total, parts = ctp_trajectory_loss(deltas.float(), boxes)
    return total, {**parts, "no_motion": no_motion_loss(boxes)}


def classification_loss(
    logits: Tensor, labels: Tensor
) -> tuple[Tensor, dict[str, float]]:
    """Cross-entropy of a pretext classifier (VCOP, Speed) with its baselines.

    Parameters
    ----------
    logits : Tensor
        ``(N, K)`` class scores; the loss is computed in float32.
    labels : Tensor
        ``(N,)`` integer class indices in ``[0, K)``.

    Returns
    -------
    total : Tensor
        Scalar mean cross-entropy to back-propagate.
    parts : dict[str, float]
        ``"accuracy"``, the fraction of arg-max predictions equal to the
        label; ``"chance_accuracy"``, ``1 / K``; ``"uniform"``, ``ln K``, the
        cross-entropy of predicting the uniform distribution. The last two
        are references (the trivial baselines), not terms of the loss.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Examples
    --------
    >>> total, parts = classification_loss(torch.zeros(2, 6), torch.tensor([0, 5]))
    >>> round(float(total), 4), parts["uniform"] == math.log(6)
    (1.7918, True)
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"classification_loss: expected logits (N, K) and labels (N,), got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    num_classes = logits.shape[1]
    total = F.cross_entropy(logits.float(), labels.long())
    with torch.no_grad():
        correct = (logits.argmax(dim=1) == labels).float().mean()
    return total, {
        "accuracy": float(correct),
        "chance_accuracy": 1.0 / num_classes,
        "uniform": math.log(num_classes),
    }


def classification_batch_loss(
    model: nn.Module, batch: Mapping[str, torch.Tensor], input_key: str
) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy of ``model(batch[input_key])`` against ``batch["label"]``.

    See :func:`classification_loss` for the parts.
    """
    logits = model(batch[input_key])
    return classification_loss(logits.float(), batch["label"])


def vcop_batch_loss(
    model: nn.Module, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """VCOP order loss of ``model`` on a batch of ``{"clips", "label"}``.

    ``clips`` is ``(N, K, 3, T, H, W)`` (shuffled tuples), ``label`` the
    permutation indices ``(N,)``; the parts are those of
    :func:`classification_loss` (``"uniform"`` is ln 6 for 3 clips).
    """
    return classification_batch_loss(model, batch, "clips")


def speed_batch_loss(
    model: nn.Module, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Speed loss of ``model`` on a batch of ``{"clip", "label"}``.

    ``clip`` is ``(N, 3, T, H, W)``, ``label`` the stride indices ``(N,)``; the
    parts are those of :func:`classification_loss` (``"uniform"`` is ln 7 for
    the 7 strides).
    """
    return classification_batch_loss(model, batch, "clip")
