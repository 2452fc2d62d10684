"""Scoring a VSR model on whole clips: PSNR/SSIM next to bicubic upsampling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from fedvideo.fl.training import autocast_for
from fedvideo.tasks.vsr.data.clips import VSRTestClips
from fedvideo.tasks.vsr.metrics import psnr, ssim
from fedvideo.tasks.vsr.perceptual import LPIPS
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
    groups: Sequence[str] | None = None,
    perceptual: LPIPS | None = None,
    bicubic_scores: dict[str, dict[str, float]] | None = None,
) -> dict[str, float]:
    """PSNR/SSIM (and LPIPS) of ``model`` and of bicubic upsampling on test clips.

    Scores are averaged over the frames of a clip, then over clips (the VSR
    convention); both are computed on the same frames. With ``groups`` (one
    name per clip, e.g. its synthetic domain) the averages of each group are
    reported too, as ``"<metric> <group>"``. With ``tile`` (LR
    frames, height, width; 0 = the whole extent), each clip is super-resolved
    tile by tile with :func:`fedvideo.tasks.vsr.tiling.tiled_forward`: memory
    is bounded by one tile, overlaps of ``tile_overlap`` are blended with a
    raised cosine after discarding a quarter of the overlap at each cut edge.
    With ``perceptual`` (:class:`~fedvideo.tasks.vsr.perceptual.LPIPS`), the
    LPIPS distance of every frame (RGB in float, the same crop) is averaged
    too, as ``lpips`` and ``lpips_bicubic`` (lower is better).

    ``bicubic_scores`` caches the bicubic scores by clip name: a clip found in
    it is not upsampled and scored again (the scores never change while the
    clips and settings stay the same), a clip not found is scored and added.
    The server passes one dict for the whole run.
    """
    model.eval()
    if groups is not None and len(groups) != len(clips):
        raise ValueError(f"{len(groups)} group names for {len(clips)} clips")
    scores = []
    for clip in clips:
        lr, hr = clip["lr"], clip["hr"]
        sr = super_resolve_clip(model, lr, scale, device, amp, tile, tile_overlap)
        score = partial(
            _clip_scores,
            target=hr,
            crop_border=crop_border,
            y_channel=y_channel,
            perceptual=perceptual,
        )
        cache = {} if bicubic_scores is None else bicubic_scores
        if clip["name"] not in cache:
            cache[clip["name"]] = score(bicubic_upsample(lr, scale), "_bicubic")
        scores.append({**score(sr, ""), **cache[clip["name"]]})
    result = _mean_scores(scores)
    for group in dict.fromkeys(groups or ()):
        members = [s for s, g in zip(scores, groups, strict=True) if g == group]
        result |= {f"{name} {group}": v for name, v in _mean_scores(members).items()}
    return result


def _clip_scores(
    pred: torch.Tensor,
    suffix: str,
    target: torch.Tensor,
    crop_border: int,
    y_channel: bool,
    perceptual: LPIPS | None,
) -> dict[str, float]:
    """PSNR, SSIM (and LPIPS) of one clip, named ``<metric><suffix>``."""
    scores = {
        "psnr" + suffix: psnr(pred, target, crop_border, y_channel),
        "ssim" + suffix: ssim(pred, target, crop_border, y_channel),
    }
    if perceptual is not None:
        scores["lpips" + suffix] = lpips_distance(perceptual, pred, target, crop_border)
    return scores


@torch.no_grad()
def super_resolve_clip(
    model: nn.Module,
    lr: torch.Tensor,
    scale: int,
    device: torch.device,
    amp: bool = False,
    tile: tuple[int, int, int] | None = None,
    tile_overlap: tuple[int, int, int] = (2, 8, 8),
) -> torch.Tensor:
    """Super-resolve one ``(T, 3, h, w)`` clip, whole or tile by tile.

    Returns
    -------
    Tensor
        ``(T, 3, scale·h, scale·w)`` float32 on the CPU, clamped to [0, 1].
    """
    with autocast_for(device, amp):
        if tile is None:
            sr = model(lr.to(device).unsqueeze(0))[0]
        else:
            sr = _tiled(model, lr, scale, tile, tile_overlap, device)
    return sr.float().clamp(0, 1).cpu()


@torch.no_grad()
def lpips_distance(
    perceptual: LPIPS, pred: torch.Tensor, target: torch.Tensor, crop_border: int = 0
) -> float:
    """Mean LPIPS distance over the frames of ``(T, 3, H, W)`` clips in [0, 1].

    Frames are cropped by ``crop_border`` pixels on each side, scaled to
    [-1, 1] in float and compared on the device of ``perceptual``.
    """
    if crop_border:
        pred = pred[..., crop_border:-crop_border, crop_border:-crop_border]
        target = target[..., crop_border:-crop_border, crop_border:-crop_border]
    device = perceptual.shift.device
    distances = perceptual(
        pred.float().to(device) * 2 - 1, target.float().to(device) * 2 - 1
    )
    return float(distances.mean())


def _mean_scores(scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over clips (in the order the metrics first appear)."""
    return {name: sum(s[name] for s in scores) / len(scores) for name in scores[0]}


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
