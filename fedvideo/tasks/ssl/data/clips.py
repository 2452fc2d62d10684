"""PyTorch datasets of fixed-length clips from action videos.

* :class:`CtPTrainClips`: one random clip per video with Catch-the-Patch
  patches pasted in, and their boxes as the target (self-supervised pretraining).
* :class:`LabelledTrainClips`: one random clip per video with its class label
  (supervised fine-tuning).
* :class:`UniformClips`: ``num_clips`` evenly spaced, centre-cropped clips of one
  video (retrieval and multi-clip testing).

Clips are ``(3, T, S, S)`` float tensors normalised with the ImageNet mean and
standard deviation. Frames are first resized so that their short side is
``S · 8/7`` (128 for S = 112), then cropped to ``S × S``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.ctp_augment import CtPAugmentSettings, paste_moving_patches

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CtPTrainClips",
    "LabelledTrainClips",
    "RandomClips",
    "UniformClips",
    "clip_indices",
    "normalize_clip",
    "resize_short_side",
    "uniform_clip_starts",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def clip_indices(start: int, num_frames: int, video_frames: int) -> list[int]:
    """Consecutive frame indices from ``start``, looping over short videos."""
    return [(start + i) % video_frames for i in range(num_frames)]


def uniform_clip_starts(
    video_frames: int, num_frames: int, num_clips: int
) -> list[int]:
    """Start frames of ``num_clips`` clips spread evenly over a video.

    Examples
    --------
    >>> uniform_clip_starts(100, 16, 3)
    [0, 42, 84]
    >>> uniform_clip_starts(10, 16, 2)
    [0, 0]
    """
    last = max(video_frames - num_frames, 0)
    if num_clips == 1:
        return [last // 2]
    return [round(i * last / (num_clips - 1)) for i in range(num_clips)]


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Resize frames ``(T, 3, H, W)`` so that ``min(H, W) == size`` (antialiased)."""
    height, width = frames.shape[-2:]
    if min(height, width) == size:
        return frames
    ratio = size / min(height, width)
    new_size = (max(size, round(height * ratio)), max(size, round(width * ratio)))
    return F.interpolate(
        frames, size=new_size, mode="bilinear", align_corners=False, antialias=True
    )


def normalize_clip(frames: torch.Tensor) -> torch.Tensor:
    """Frames ``(T, 3, H, W)`` in [0, 1] to a normalised clip ``(3, T, H, W)``."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((frames - mean) / std).permute(1, 0, 2, 3).contiguous()


def _load(video: ActionVideo, indices: Sequence[int], crop_size: int) -> torch.Tensor:
    """Frames ``(T, 3, H', W')`` in [0, 1] with the short side resized."""
    frames = torch.from_numpy(video.read_frames(indices)).permute(0, 3, 1, 2)
    return resize_short_side(frames.float() / 255.0, round(crop_size * 8 / 7))


def _random_crop(
    frames: torch.Tensor, crop_size: int, rng: np.random.Generator
) -> torch.Tensor:
    """Crop ``crop_size × crop_size`` at a random position."""
    height, width = frames.shape[-2:]
    top = int(rng.integers(0, height - crop_size + 1))
    left = int(rng.integers(0, width - crop_size + 1))
    frames = frames[..., top : top + crop_size, left : left + crop_size]
    return frames


def _center_crop(frames: torch.Tensor, crop_size: int) -> torch.Tensor:
    height, width = frames.shape[-2:]
    top, left = (height - crop_size) // 2, (width - crop_size) // 2
    return frames[..., top : top + crop_size, left : left + crop_size]


@dataclasses.dataclass
class RandomClips(Dataset):
    """One random clip per video and epoch, reproducible from (seed, epoch, index).

    The base of the training datasets: subclasses build their items from
    :meth:`_random_clip` or, for other frame selections, :meth:`_crop_and_flip`.
    """

    videos: Sequence[ActionVideo]
    num_frames: int
    crop_size: int
    seed: int
    epoch: int = 0
    flip: bool = True  # random horizontal flips

    def __len__(self) -> int:
        return len(self.videos)

    def set_epoch(self, epoch: int) -> None:
        """Draw different clips in the next pass over the videos."""
        self.epoch = epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.epoch, index))

    def _crop_and_flip(
        self, video: ActionVideo, indices: Sequence[int], rng: np.random.Generator
    ) -> torch.Tensor:
        """Frames ``(len(indices), 3, S, S)`` in [0, 1]: one random crop and flip."""
        frames = _random_crop(
            _load(video, indices, self.crop_size), self.crop_size, rng
        )
        if self.flip and rng.random() < 0.5:
            frames = frames.flip(-1)
        return frames

    def _random_clip(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        video = self.videos[index]
        start = int(rng.integers(0, max(video.num_frames - self.num_frames, 0) + 1))
        indices = clip_indices(start, self.num_frames, video.num_frames)
        return self._crop_and_flip(video, indices, rng)


class CtPTrainClips(RandomClips):
    """Random clips with moving patches pasted in (Catch-the-Patch).

    Items are ``{"clip": (3, T, S, S), "boxes": (P, T, 4)}``; boxes are
    x1, y1, x2, y2 in clip pixels.
    """

    def __init__(
        self,
        videos: Sequence[ActionVideo],
        num_frames: int,
        crop_size: int,
        seed: int,
        augment: CtPAugmentSettings | None = None,
    ) -> None:
        super().__init__(videos, num_frames, crop_size, seed)
        self.augment = augment or CtPAugmentSettings()

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._rng(index)
        frames = self._random_clip(index, rng)
        pasted, boxes = paste_moving_patches(
            frames.permute(0, 2, 3, 1).numpy(), rng, self.augment
        )
        clip = normalize_clip(torch.from_numpy(pasted).permute(0, 3, 1, 2))
        return {"clip": clip, "boxes": torch.from_numpy(boxes)}


class LabelledTrainClips(RandomClips):
    """Random clips with their class labels: ``{"clip", "label"}``."""

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._rng(index)
        clip = normalize_clip(self._random_clip(index, rng))
        return {"clip": clip, "label": torch.tensor(self.videos[index].label)}


class UniformClips(Dataset):
    """All evenly spaced, centre-cropped clips of every video.

    Item ``i`` is clip ``i % num_clips`` of video ``i // num_clips``:
    ``{"clip", "label", "video"}`` (``video`` is the video's index).
    """

    def __init__(
        self,
        videos: Sequence[ActionVideo],
        num_frames: int,
        crop_size: int,
        num_clips: int,
    ) -> None:
        self.videos = videos
        self.num_frames = num_frames
        self.crop_size = crop_size
        self.num_clips = num_clips

    def __len__(self) -> int:
        return len(self.videos) * self.num_clips

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        video_index, clip_index = divmod(index, self.num_clips)
        video = self.videos[video_index]
        start = uniform_clip_starts(video.num_frames, self.num_frames, self.num_clips)[
            clip_index
        ]
        frames = _load(
            video,
            clip_indices(start, self.num_frames, video.num_frames),
            self.crop_size,
        )
        return {
            "clip": normalize_clip(_center_crop(frames, self.crop_size)),
            "label": torch.tensor(video.label),
            "video": torch.tensor(video_index),
        }
