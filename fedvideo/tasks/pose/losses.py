"""Pose losses: the visibility-weighted heatmap loss and RAF's MRKD objective.

RAF's multi-resolution knowledge distillation (MRKD) runs over a cascade of
resolutions. Both functions are pure and differentiable, so they run on CPU or
CUDA in whatever floating dtype the inputs have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["joints_mse", "mrkd_batch_loss", "mrkd_loss"]


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


def mrkd_batch_loss(
    model: nn.Module, batch: Mapping[str, Any], kd_weight: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """MRKD loss of ``model`` on a batch of multi-resolution copies (high first)."""
    outputs = [model(images) for images in batch["images"]]
    return mrkd_loss(outputs, batch["targets"], batch["weights"], kd_weight)
