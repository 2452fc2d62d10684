"""Pose evaluation: PCKh of a model at one input resolution, and across many.

RAF's robustness test feeds the same model person crops at many input
resolutions, seen in training or not (64x48 up to 512x384), and reports PCKh
at each. Predictions are made on the crop, mapped back to the original image
and scored there against the annotated joints with MPII's head-size threshold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from fedvideo.data.errors import DatasetError
from fedvideo.fl.training import autocast_for
from fedvideo.reports.tables import line_plot
from fedvideo.tasks.pose.data.datasets import (
    FLIP_PAIRS,
    MPII_JOINTS,
    PoseEvalSet,
    PoseRecord,
)
from fedvideo.tasks.pose.data.partition import Resolution, format_resolution
from fedvideo.tasks.pose.keypoints import predict_joints
from fedvideo.tasks.pose.metrics import pckh
from fedvideo.utils import atomic_write

__all__ = [
    "evaluate_pose",
    "plot_resolution_sweep",
    "resolution_sweep",
    "write_resolution_sweep",
]

THRESHOLDS = (0.5, 0.1)


def _to_image_frame(coords: torch.Tensor, crop_to_image: torch.Tensor) -> torch.Tensor:
    """Apply per-sample 2x3 affine matrices to ``(N, J, 2)`` points."""
    matrix = crop_to_image.to(torch.float64)
    points = coords.to(torch.float64)
    return points @ matrix[:, :, :2].transpose(1, 2) + matrix[:, None, :, 2]


def _scorable(records: Sequence[PoseRecord]) -> list[PoseRecord]:
    """Keep the records with a head box (PCKh needs the head size)."""
    kept = [r for r in records if np.isfinite(r.head_box).all()]
    if not kept:
        raise DatasetError(
            "pose evaluation: no test sample has a head box, PCKh cannot be computed "
            "(MPII: put annotations/gt_valid.mat next to valid.json)"
        )
    return kept


@torch.no_grad()
def evaluate_pose(
    model: nn.Module,
    records: Sequence[PoseRecord],
    resolution: Resolution,
    device: torch.device,
    flip_test: bool = True,
    batch_size: int = 16,
    amp: bool = False,
) -> dict[str, dict[str, Any]]:
    """PCKh@0.5 and PCKh@0.1 of ``model`` with crops at ``resolution``.

    Parameters
    ----------
    model : nn.Module
        Heatmap model on ``device``; put in eval mode here.
    records : Sequence[PoseRecord]
        Test samples; those without a head box are skipped.
    resolution : Resolution
        Input ``(height, width)`` of the crops.
    device : torch.device
        Where to run the model.
    flip_test : bool
        Average with the heatmaps of the mirrored crop.
    batch_size : int
        Crops per forward pass.
    amp : bool
        Mixed precision on CUDA.

    Returns
    -------
    dict
        ``{"PCKh@0.5": {"per_joint": [...16], "mean": m}, "PCKh@0.1": {...}}``
        in percent (see :func:`fedvideo.tasks.pose.metrics.pckh`).
    """
    model.eval()
    loader = DataLoader(PoseEvalSet(_scorable(records), resolution), batch_size)
    preds, gts, visible, head_sizes = [], [], [], []
    for batch in loader:
        with autocast_for(device, amp):
            coords, _ = predict_joints(
                model, batch["image"].to(device), FLIP_PAIRS if flip_test else None
            )
        preds.append(_to_image_frame(coords, batch["crop_to_image"]))
        gts.append(batch["joints"])
        visible.append(batch["visible"])
        head_sizes.append(batch["head_size"].reshape(-1))
    pred, gt = torch.cat(preds), torch.cat(gts)
    vis, heads = torch.cat(visible), torch.cat(head_sizes)
    return {f"PCKh@{t}": pckh(pred, gt, vis, heads, threshold=t) for t in THRESHOLDS}


def resolution_sweep(
    model: nn.Module,
    records: Sequence[PoseRecord],
    resolutions: Sequence[Resolution],
    device: torch.device,
    flip_test: bool = True,
    batch_size: int = 16,
    amp: bool = False,
) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`evaluate_pose` at every resolution, keyed ``"HxW"``."""
    return {
        format_resolution(resolution): evaluate_pose(
            model, records, resolution, device, flip_test, batch_size, amp
        )
        for resolution in resolutions
    }


def plot_resolution_sweep(
    sweeps: Mapping[str, Mapping[str, Mapping[str, Any]]],
    path: Path,
    seen: Sequence[Resolution] = (),
    metric: str = "PCKh@0.5",
    title: str = "PCKh across input resolutions",
) -> None:
    """Plot mean PCKh against input resolution for one or more models.

    Parameters
    ----------
    sweeps : Mapping
        Legend label -> the output of :func:`resolution_sweep`.
    path : Path
        Image file to write (format from the suffix), replaced atomically.
    seen : Sequence[Resolution]
        Training resolutions, marked on the axis.
    metric : str
        ``"PCKh@0.5"`` or ``"PCKh@0.1"``.
    title : str
        Figure title.
    """
    labels = list(next(iter(sweeps.values()), {}))
    seen_labels = {format_resolution(r) for r in seen}
    line_plot(
        {
            label: (
                range(len(sweep)),
                [scores[metric]["mean"] for scores in sweep.values()],
            )
            for label, sweep in sweeps.items()
        },
        path,
        xlabel="test input resolution (H x W); shaded: seen in training",
        ylabel=f"mean {metric} (%)",
        title=title,
        xticks=labels,
        shaded=[i for i, name in enumerate(labels) if name in seen_labels],
        figsize=(7.0, 4.0),
    )


def write_resolution_sweep(
    sweep: Mapping[str, Mapping[str, Mapping[str, Any]]],
    folder: Path,
    seen: Sequence[Resolution],
    label: str = "final model",
) -> tuple[Path, Path]:
    """Write ``resolution_sweep.json`` (per joint) and ``resolution_sweep.png``."""
    json_path = folder / "resolution_sweep.json"
    document = {
        "joints": list(MPII_JOINTS),
        "seen_resolutions": [format_resolution(r) for r in seen],
        "sweep": sweep,
    }
    text = json.dumps(document, indent=1)
    atomic_write(json_path, lambda tmp: Path(tmp).write_text(text))
    plot_path = folder / "resolution_sweep.png"
    plot_resolution_sweep({label: sweep}, plot_path, seen)
    return json_path, plot_path
