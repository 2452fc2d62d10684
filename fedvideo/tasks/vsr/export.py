"""The final model's test frames as PNG files, for VMAF and visual checks.

FedVSR reports VMAF, which FFmpeg's ``libvmaf`` filter computes from two
videos. With ``vsr.export-frames = true`` a run writes, for every held-out
clip, the super-resolved frames, the ground truth and the bicubic upsampling
as lossless 8-bit PNG files::

    <run>/frames/<clip>/sr/00000000.png ...
    <run>/frames/<clip>/gt/00000000.png ...
    <run>/frames/<clip>/bicubic/00000000.png ...

and FFmpeg's libvmaf filter scores ``sr`` (distorted) against ``gt``
(reference); the command is in the README ("VMAF").
"""

from __future__ import annotations

from logging import INFO
from pathlib import Path

import numpy as np
import torch
from flwr.common.logger import log
from PIL import Image
from torch import nn

from fedvideo.tasks.vsr.data.clips import VSRTestClips
from fedvideo.tasks.vsr.evaluation import bicubic_upsample, super_resolve_clip

__all__ = ["export_frames", "to_uint8_frames"]


def to_uint8_frames(frames: torch.Tensor) -> np.ndarray:
    """Float ``(T, 3, H, W)`` frames in [0, 1] to uint8 ``(T, H, W, 3)``, rounded."""
    values = frames.float().clamp(0, 1).mul(255).round().byte()
    return values.permute(0, 2, 3, 1).contiguous().numpy()


def _write_pngs(frames: np.ndarray, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{index:08d}.png", compress_level=1)


def export_frames(
    model: nn.Module,
    clips: VSRTestClips,
    scale: int,
    device: torch.device,
    out_dir: Path,
    amp: bool = False,
    tile: tuple[int, int, int] | None = None,
    tile_overlap: tuple[int, int, int] = (2, 8, 8),
) -> int:
    """Write every clip's SR, ground-truth and bicubic frames as PNG files.

    Parameters
    ----------
    model : nn.Module
        The VSR model (put in eval mode).
    clips : VSRTestClips
        The held-out clips.
    scale : int
        Upsampling factor.
    device : torch.device
        Where the model runs.
    out_dir : Path
        Folder that receives ``<clip>/{sr,gt,bicubic}/<frame:08d>.png``.
    amp, tile, tile_overlap
        As for :func:`fedvideo.tasks.vsr.evaluation.evaluate_clips`.

    Returns
    -------
    int
        Number of frames written per kind (SR, GT, bicubic).
    """
    model.eval()
    written = 0
    for clip in clips:
        lr, hr = clip["lr"], clip["hr"]
        sr = super_resolve_clip(model, lr, scale, device, amp, tile, tile_overlap)
        folder = out_dir / str(clip["name"])
        _write_pngs(to_uint8_frames(sr), folder / "sr")
        _write_pngs(to_uint8_frames(hr), folder / "gt")
        _write_pngs(to_uint8_frames(bicubic_upsample(lr, scale)), folder / "bicubic")
        written += len(sr)
        log(INFO, "vsr: frames of clip %s written to %s", clip["name"], folder)
    return written
