"""MPII's PCKh: the share of joints predicted within a fraction of the head size."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["PCKH_MEAN_EXCLUDED", "pckh"]

#: MPII joints left out of the mean PCKh: pelvis (6) and thorax (7).
PCKH_MEAN_EXCLUDED: tuple[int, ...] = (6, 7)


def pckh(
    pred: Tensor,
    gt: Tensor,
    visible: Tensor,
    head_size: Tensor,
    threshold: float = 0.5,
) -> dict[str, list[float] | float]:
    """Percentage of correct keypoints relative to head size (MPII's PCKh).

    A visible joint is correct when its prediction lies within ``threshold * head_size``
    of the ground truth (head size = 0.6 x the head-box diagonal, see
    :func:`fedvideo.tasks.pose.data.datasets.head_size`). Joints that are not visible
    are not counted. As in the MPII evaluation, the mean pools all visible joints except
    pelvis and thorax (:data:`PCKH_MEAN_EXCLUDED`), so joints are weighted by how often
    they are visible.

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
