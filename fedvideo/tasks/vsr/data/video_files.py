"""Real footage as VSR test clips: video files decoded with PyAV (the BI protocol).

A folder of video files (``*.mp4``, ``*.avi``, ``*.mkv``, ...) is a test-only
VSR dataset: each file's first frames are decoded, cropped to a multiple of the
scale (the HR clip) and downsampled with :func:`bicubic_downsample` (the LR
clip), the "BI" degradation of the VSR literature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fedvideo.data.decode import VIDEO_SUFFIXES, read_video
from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.degradation import bicubic_downsample
from fedvideo.tasks.vsr.data.video import InMemoryVideo

__all__ = ["crop_to_multiple", "list_video_files", "load_video_file"]


def list_video_files(folder: Path) -> list[Path]:
    """Return the video files directly in ``folder``, sorted by name."""
    return sorted(
        path
        for path in Path(folder).iterdir()
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
    )


def crop_to_multiple(frames: np.ndarray, scale: int) -> np.ndarray:
    """Crop frames ``(T, H, W, 3)`` at the bottom and right to multiples of scale."""
    height, width = frames.shape[1:3]
    return frames[:, : height - height % scale, : width - width % scale]


def load_video_file(path: Path, scale: int, max_frames: int) -> InMemoryVideo:
    """Decode a video file into a paired clip: HR as decoded, LR by bicubic ×1/scale.

    Parameters
    ----------
    path : Path
        The video file; the clip is named after its stem.
    scale : int
        Upscaling factor.
    max_frames : int
        Keep only the first frames (memory grows with them).

    Raises
    ------
    DatasetError
        If the file cannot be decoded or is smaller than one LR pixel; the
        message names it.
    """
    hr = crop_to_multiple(read_video(path, max_frames).frames, scale)
    if 0 in hr.shape[1:3]:
        raise DatasetError(
            f"video file {path} is smaller than {scale}x{scale} pixels (vsr.scale)"
        )
    return InMemoryVideo(
        path.stem, bicubic_downsample(np.ascontiguousarray(hr), scale), hr
    )
