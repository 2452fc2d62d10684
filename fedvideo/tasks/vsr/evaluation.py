"""Scoring a VSR model on whole clips: PSNR/SSIM next to bicubic upsampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fedvideo.fl.training import (
    autocast_for,
)
from fedvideo.tasks.vsr.data.clips import VSRTestClips
from fedvideo.tasks.vsr.metrics import psnr, ssim
from fedvideo.tasks.vsr.tiling import tiled_forward

__all__ = [
    "bicubic_upsample",
    "evaluate_clips",
]


def bicubic_upsample(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upsampling of (..., C, h, w) frames, clamped to [0, 1]."""
    frames = lr.reshape(-1, *lr.shape[-3:])
    up = F.interpolate(frames, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(0, 1).reshape(*lr.shape[:-2], *up.shape[-2:])


@torch.no_grad()
def evaluate_clips(
    model: nn.Module,
    clips: VSRTestClips,
    scale: int,
    device: torch.device,
    crop_border: int = 0,
    y_channel: bool = False,
    amp: bool = False,
    tile: tuple[int, int, int] | None = None,
    tile_overlap: tuple[int, int, int] = (2, 8, 8),
) -> dict[str, float]:
    """PSNR/SSIM of ``model`` and of bicubic upsampling on whole test clips.

    Scores are averaged over the frames of a clip, then over clips (the VSR
    convention); both are computed on the same frames. With ``tile`` (LR
    frames, height, width; 0 = the whole extent), each clip is super-resolved
    tile by tile with :func:`fedvideo.tasks.vsr.tiling.tiled_forward`: memory
    is bounded by one tile, overlaps of ``tile_overlap`` are blended with a
    raised cosine after discarding a quarter of the overlap at each cut edge.
    """
    model.eval()
    totals = dict.fromkeys(("psnr", "ssim", "psnr_bicubic", "ssim_bicubic"), 0.0)
    for clip in clips:
        lr, hr = clip["lr"], clip["hr"]
        with autocast_for(device, amp):
            if tile is None:
                sr = model(lr.to(device).unsqueeze(0))[0]
            else:
                sr = _tiled(model, lr, scale, tile, tile_overlap, device)
        sr = sr.float().clamp(0, 1).cpu()
        bicubic = bicubic_upsample(lr, scale)
        for prefix, pred in (("", sr), ("_bicubic", bicubic)):
            totals["psnr" + prefix] += psnr(pred, hr, crop_border, y_channel)
            totals["ssim" + prefix] += ssim(pred, hr, crop_border, y_channel)
    return {name: value / len(clips) for name, value in totals.items()}


def _tiled(
    model: nn.Module,
    lr: torch.Tensor,
    scale: int,
    tile: tuple[int, int, int],
    overlap: tuple[int, int, int],
    device: torch.device,
) -> torch.Tensor:
    """Super-resolve one (T, 3, h, w) clip tile by tile (0 = whole extent)."""
    dims = lr.shape[0], lr.shape[2], lr.shape[3]
    sizes = [size or dim for size, dim in zip(tile, dims, strict=True)]
    overlaps = [
        min(ov, size - 1) if size < dim else 0
        for ov, size, dim in zip(overlap, sizes, dims, strict=True)
    ]
    return tiled_forward(
        model,
        lr.unsqueeze(0),
        scale,
        tile=sizes,
        overlap=overlaps,
        blend="cosine",
        margin=[ov // 4 for ov in overlaps],
        device=device,
        out_device="cpu",
    )[0]
