"""PyTorch datasets over :class:`~fedvideo.tasks.vsr.data.video.Video` clips for VSR.

:class:`VSRTrainClips` draws random, augmented LR/HR crops of ``num_frames``
consecutive frames, deterministically from ``(seed, epoch, index)``;
:class:`VSRTestClips` yields whole clips for evaluation. Both load only the
frames they need.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from fedvideo.data.errors import DatasetError, require_int
from fedvideo.data.frames import format_size
from fedvideo.tasks.vsr.data.video import Video

__all__ = ["VSRTestClips", "VSRTrainClips", "frames_to_tensor", "mirrored_indices"]


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``(T, H, W, 3)`` frames -> float32 tensor ``(T, 3, H, W)`` in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return tensor.contiguous().float().div_(255.0)


def mirrored_indices(num_available: int, start: int, num_frames: int) -> list[int]:
    """``num_frames`` frame indices from ``start``, mirrored past the clip's ends.

    The clip ``0 .. n-1`` is extended by appending its time-reversed copy, then
    the clip again, and so on (``0 1 2 2 1 0 0 1 2 ...`` for ``n = 3``), so short
    clips still give ``num_frames`` frames with continuous motion.

    Parameters
    ----------
    num_available : int
        Number of frames ``n`` in the clip (>= 1).
    start : int
        First position in the extended sequence (>= 0).
    num_frames : int
        Number of indices to return.
    """
    period = 2 * num_available
    positions = (start + np.arange(num_frames)) % period
    indices = np.where(positions < num_available, positions, period - 1 - positions)
    return indices.tolist()


def _augment(
    frames: np.ndarray, hflip: bool, vflip: bool, transpose: bool
) -> np.ndarray:
    """Flip/transpose ``(T, H, W, C)`` frames like BasicSR's ``augment``."""
    if hflip:
        frames = frames[:, :, ::-1]
    if vflip:
        frames = frames[:, ::-1]
    if transpose:
        frames = frames.transpose(0, 2, 1, 3)
    return frames


def _check_video(video: Video, scale: int, gt_crop: int) -> None:
    """Raise if ``video`` does not match ``scale`` or is smaller than the crop."""
    (h, w), hr_size = video.lr_size, video.hr_size
    lr_crop = gt_crop // scale
    if hr_size != (scale * h, scale * w):
        raise DatasetError(
            f"video {video.name!r}: HR size {format_size(hr_size)} is not "
            f"vsr.scale={scale} times the LR size {format_size((h, w))}"
        )
    if h < lr_crop or w < lr_crop:
        raise DatasetError(
            f"video {video.name!r}: LR frames are {format_size((h, w))} (height x "
            f"width), smaller than the LR crop {lr_crop}x{lr_crop} "
            f"(vsr.gt-crop={gt_crop} / vsr.scale={scale})"
        )


class VSRTrainClips(Dataset):
    """Random training crops: ``num_frames`` consecutive frames of one video.

    Item ``i`` comes from video ``i // samples_per_video``. Its randomness is a
    generator seeded with ``(seed, epoch, i)``, which picks, in order: the start
    frame; the LR crop position (the HR crop is at ``scale`` times that position,
    the same for every frame); and the augmentation, shared by all frames and by
    LR and HR: horizontal flip, vertical flip and a 90-degree rotation (H/W
    transpose), each with probability 1/2 (BasicSR ``augment(hflip=True,
    rotation=True)``). A video shorter than ``num_frames`` is extended with its
    time-reversed copy (see :func:`mirrored_indices`).

    :meth:`set_shape` changes ``num_frames`` and ``gt_crop`` in place, e.g. between
    multigrid stages, without rebuilding the dataset or listing files again; wrap the
    videos with :func:`~fedvideo.tasks.vsr.data.frame_cache.cache_videos` to also avoid
    reading frames again. Like :meth:`set_epoch`, it reaches DataLoader workers only
    when they are started afterwards (not with ``persistent_workers=True`` loaders that
    are already running).

    Parameters
    ----------
    videos : Sequence[Video]
        The client's clips.
    num_frames : int
        Frames per sample (``vsr.num-frames``).
    gt_crop : int
        HR crop size (``vsr.gt-crop``), a multiple of ``scale``.
    scale : int
        Upscaling factor (``vsr.scale``).
    samples_per_video : int
        Samples drawn per video per epoch (``vsr.samples-per-video``).
    seed : int
        Non-negative base seed.
    epoch : int
        Epoch (or round) number; change it with :meth:`set_epoch`.
    augment : bool
        Whether to flip and rotate.

    Raises
    ------
    DatasetError
        For an invalid setting (naming it), no videos, a video whose HR size is
        not ``scale`` times its LR size, or whose LR frames are smaller than the
        LR crop (naming the video and the sizes).
    """

    def __init__(
        self,
        videos: Sequence[Video],
        num_frames: int,
        gt_crop: int,
        scale: int,
        samples_per_video: int,
        seed: int,
        epoch: int = 0,
        augment: bool = True,
    ) -> None:
        self.videos = list(videos)
        if not self.videos:
            raise DatasetError(
                "VSRTrainClips got no videos: the client's partition is empty"
            )
        self.scale = require_int(scale, "vsr.scale", 1)
        self.set_shape(num_frames, gt_crop)
        self.samples_per_video = require_int(
            samples_per_video, "vsr.samples-per-video", 1
        )
        self.seed = require_int(seed, "seed", 0)
        self.epoch = require_int(epoch, "epoch", 0)
        self.augment = bool(augment)

    def set_shape(self, num_frames: int, gt_crop: int) -> None:
        """Change the clip length and HR crop size in place (multigrid stages).

        Validated like the constructor's arguments; on error nothing changes.
        Item ``i`` still depends only on ``(seed, epoch, i)`` and the shape.

        Parameters
        ----------
        num_frames : int
            Frames per sample (``vsr.num-frames``).
        gt_crop : int
            HR crop size (``vsr.gt-crop``), a multiple of ``scale``.

        Raises
        ------
        DatasetError
            For an invalid setting (naming it) or a video whose HR size is not
            ``scale`` times its LR size or whose LR frames are smaller than the
            LR crop (naming the video and the sizes).
        """
        num_frames = require_int(num_frames, "vsr.num-frames", 1)
        checked_crop = require_int(gt_crop, "vsr.gt-crop", self.scale)
        if checked_crop % self.scale:
            raise DatasetError(
                f"vsr.gt-crop={gt_crop} must be a multiple of vsr.scale={self.scale}"
            )
        for video in self.videos:
            _check_video(video, self.scale, checked_crop)
        self.num_frames = num_frames
        self.gt_crop = checked_crop
        self.lr_crop = checked_crop // self.scale

    def set_epoch(self, epoch: int) -> None:
        """Draw new samples: item ``i`` now depends on ``(seed, epoch, i)``."""
        self.epoch = require_int(epoch, "epoch", 0)

    def __len__(self) -> int:
        return len(self.videos) * self.samples_per_video

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Sample ``index``: ``{"lr": (T, 3, c, c), "hr": (T, 3, C, C)}`` in [0, 1]."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        video = self.videos[index // self.samples_per_video]
        available = video.num_frames
        start = (
            int(rng.integers(0, available - self.num_frames + 1))
            if available >= self.num_frames
            else 0
        )
        indices = mirrored_indices(available, start, self.num_frames)
        unique, inverse = np.unique(indices, return_inverse=True)
        lr, hr = video.load(unique.tolist())

        (h, w), crop, scale = video.lr_size, self.lr_crop, self.scale
        top = int(rng.integers(0, h - crop + 1))
        left = int(rng.integers(0, w - crop + 1))
        lr = lr[inverse, top : top + crop, left : left + crop]
        hr = hr[
            inverse,
            scale * top : scale * (top + crop),
            scale * left : scale * (left + crop),
        ]
        hflip, vflip, transpose = (rng.random(3) < 0.5).tolist()
        if self.augment:
            lr = _augment(lr, hflip, vflip, transpose)
            hr = _augment(hr, hflip, vflip, transpose)
        return {"lr": frames_to_tensor(lr), "hr": frames_to_tensor(hr)}


class VSRTestClips(Dataset):
    """Whole clips for evaluation.

    Parameters
    ----------
    videos : Sequence[Video]
        The held-out clips.
    max_frames : int or None
        If given, only the first ``max_frames`` frames of each clip.

    Items are ``{"lr": (T, 3, h, w), "hr": (T, 3, H, W), "name": str}`` with
    float32 values in [0, 1].
    """

    def __init__(self, videos: Sequence[Video], max_frames: int | None = None) -> None:
        self.videos = list(videos)
        self.max_frames = (
            None if max_frames is None else require_int(max_frames, "max_frames", 1)
        )

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        """Clip ``index`` (its first ``max_frames`` frames)."""
        video = self.videos[index]
        count = video.num_frames
        if self.max_frames is not None:
            count = min(count, self.max_frames)
        lr, hr = video.load(list(range(count)))
        return {
            "lr": frames_to_tensor(lr),
            "hr": frames_to_tensor(hr),
            "name": video.name,
        }
