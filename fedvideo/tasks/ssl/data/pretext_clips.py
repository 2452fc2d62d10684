"""PyTorch datasets for the VCOP and Speed pretext tasks.

* :class:`VCOPTrainClips`: a tuple of clips in temporal order, shuffled; the
  label is the permutation's index (Xu et al., "Self-supervised Spatiotemporal
  Learning via Video Clip Order Prediction", CVPR 2019).
* :class:`SpeedTrainClips`: one clip read with a frame stride drawn from
  :data:`~fedvideo.tasks.ssl.models.speed.SPEED_STRIDES`; the label is the
  stride's index (Benaim et al., "SpeedNet: Learning the Speediness in
  Videos", CVPR 2020, in the 7-stride variant of microsoft/CtP's pyvrl).

Clips are prepared as in :mod:`fedvideo.tasks.ssl.data.clips`: frames resized
so that their short side is ``S · 8/7``, a random ``S × S`` crop, a random
horizontal flip, ImageNet normalisation, ``(3, T, S, S)`` float tensors. The
clips of one VCOP tuple share the crop and the flip, so that only their order
tells them apart. Items are reproducible from ``(seed, epoch, index)``. The
official Speed configs also jitter the scale and colour; that is not done here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.clips import (
    RandomClips,
    normalize_clip,
)
from fedvideo.tasks.ssl.models.speed import SPEED_STRIDES

__all__ = [
    "SPEED_STRIDES",
    "VCOP_PERMUTATIONS",
    "SpeedTrainClips",
    "VCOPTrainClips",
    "clip_order_permutations",
    "speed_clip_indices",
    "speed_frames_needed",
    "vcop_tuple_starts",
]


def clip_order_permutations(num_clips: int) -> tuple[tuple[int, ...], ...]:
    """All orders of ``num_clips`` clips, in ``itertools.permutations`` order.

    The VCOP label ``l`` means that position ``k`` of the shuffled tuple holds
    the clip that comes ``perms[l][k]``-th in time.

    Examples
    --------
    >>> clip_order_permutations(3)
    ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    """
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    return tuple(itertools.permutations(range(num_clips)))


#: The 3! = 6 clip orders of VCOP; label ``l`` is ``VCOP_PERMUTATIONS[l]``.
VCOP_PERMUTATIONS: tuple[tuple[int, ...], ...] = clip_order_permutations(3)


def vcop_tuple_starts(
    video_frames: int,
    clip_frames: int,
    interval: int,
    rng: np.random.Generator,
    num_clips: int = 3,
) -> list[int]:
    """Start frames of a VCOP tuple's clips, in temporal order.

    The tuple spans ``num_clips * clip_frames + (num_clips - 1) * interval``
    frames (clips ``interval`` frames apart); it is placed at a random offset
    where it fits. In a shorter video the clips are squeezed: starts
    ``0, s, 2s, ...`` with the largest ``s >= 1`` for which the last clip ends
    inside the video, so that the clips overlap but keep their order.

    Parameters
    ----------
    video_frames : int
        Frames of the video.
    clip_frames : int
        Frames of each clip (>= 1).
    interval : int
        Frames between the end of a clip and the start of the next (>= 0).
    rng : numpy.random.Generator
        Draws the offset.
    num_clips : int, optional
        Clips per tuple (>= 1), by default 3.

    Returns
    -------
    list[int]
        ``num_clips`` strictly increasing starts, each with
        ``start + clip_frames <= video_frames``.

    Raises
    ------
    ValueError
        If the video is shorter than ``clip_frames + num_clips - 1`` frames
        (the message names the frames needed), or an argument is out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> vcop_tuple_starts(64, 16, 8, rng)  # span 3·16 + 2·8 = 64: offset 0
    [0, 24, 48]
    >>> vcop_tuple_starts(24, 16, 8, rng)  # squeezed: s = (24 - 16) // 2
    [0, 4, 8]
    """
    if clip_frames < 1 or interval < 0 or num_clips < 1:
        raise ValueError(
            f"vcop_tuple_starts: need clip_frames >= 1, interval >= 0 and "
            f"num_clips >= 1, got {clip_frames}, {interval}, {num_clips}"
        )
    step = clip_frames + interval
    span = num_clips * clip_frames + (num_clips - 1) * interval
    if video_frames >= span:
        offset = int(rng.integers(0, video_frames - span + 1))
        return [offset + k * step for k in range(num_clips)]
    needed = clip_frames + num_clips - 1
    if video_frames < needed:
        raise ValueError(
            f"a VCOP tuple of {num_clips} clips of {clip_frames} frames needs at "
            f"least {needed} frames ({span} without overlap), the video has "
            f"{video_frames}"
        )
    squeezed = (video_frames - clip_frames) // (num_clips - 1)
    return [k * squeezed for k in range(num_clips)]


def speed_frames_needed(num_frames: int, strides: Sequence[int] = SPEED_STRIDES) -> int:
    """Frames a video needs for a clip of ``num_frames`` at every stride.

    Examples
    --------
    >>> speed_frames_needed(16)  # 4 · 15 + 1
    61
    """
    return max(abs(int(s)) for s in strides) * (num_frames - 1) + 1


def speed_clip_indices(
    video_frames: int, num_frames: int, stride: int, rng: np.random.Generator
) -> list[int]:
    """Frame indices of a clip played at ``stride`` frames per step.

    The clip covers ``|stride| · (num_frames - 1) + 1`` frames at a random
    position; a negative stride reads them backwards, stride 0 repeats one
    random frame.

    Parameters
    ----------
    video_frames : int
        Frames of the video.
    num_frames : int
        Frames of the clip (>= 1).
    stride : int
        Step between consecutive clip frames.
    rng : numpy.random.Generator
        Draws the position.

    Returns
    -------
    list[int]
        ``num_frames`` indices in ``[0, video_frames)``.

    Raises
    ------
    ValueError
        If the video is shorter than the clip's span (the message names the
        frames needed) or ``num_frames < 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> speed_clip_indices(7, 4, 2, rng)  # span 2 · 3 + 1 = 7: start 0
    [0, 2, 4, 6]
    >>> speed_clip_indices(7, 4, -2, rng)
    [6, 4, 2, 0]
    """
    if num_frames < 1:
        raise ValueError(
            f"speed_clip_indices: num_frames must be >= 1, got {num_frames}"
        )
    span = abs(stride) * (num_frames - 1) + 1
    if span > video_frames:
        raise ValueError(
            f"a clip of {num_frames} frames at stride {stride} needs {span} "
            f"frames, the video has {video_frames}"
        )
    first = int(rng.integers(0, video_frames - span + 1))
    if stride < 0:
        first += span - 1
    return [first + stride * i for i in range(num_frames)]


class VCOPTrainClips(RandomClips):
    """Shuffled tuples of clips for clip order prediction (VCOP).

    Items are ``{"clips": (K, 3, T, S, S), "label": int64}``: position ``k``
    holds the clip that comes ``perms[label][k]``-th in time, with
    ``perms = clip_order_permutations(K)`` (:data:`VCOP_PERMUTATIONS` for
    ``K = 3``). The starts come from :func:`vcop_tuple_starts`.

    Parameters
    ----------
    videos : Sequence[ActionVideo]
        The videos; each needs at least ``clip_frames + num_clips - 1`` frames
        (``3 · clip_frames + 2 · interval`` for clips that do not overlap).
    clip_frames : int
        Frames ``T`` of each clip (official: 16).
    crop_size : int
        Crop size ``S``.
    seed : int
        Seed of the per-item generators.
    interval : int, optional
        Frames between consecutive clips (official: 8).
    num_clips : int, optional
        Clips per tuple ``K`` (official: 3).
    """

    def __init__(
        self,
        videos: Sequence[ActionVideo],
        clip_frames: int,
        crop_size: int,
        seed: int,
        interval: int = 8,
        num_clips: int = 3,
    ) -> None:
        super().__init__(videos, clip_frames, crop_size, seed)
        if num_clips < 2 or interval < 0:
            raise ValueError(
                f"VCOPTrainClips: need num_clips >= 2 and interval >= 0, got "
                f"{num_clips} and {interval}"
            )
        self.interval = interval
        self.num_clips = num_clips
        self.permutations = clip_order_permutations(num_clips)

    @property
    def clip_frames(self) -> int:
        """Frames of each clip."""
        return self.num_frames

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._rng(index)
        video = self.videos[index]
        try:
            starts = vcop_tuple_starts(
                video.num_frames, self.clip_frames, self.interval, rng, self.num_clips
            )
        except ValueError as error:
            raise DatasetError(f"video {video.name!r}: {error}") from None
        label = int(rng.integers(len(self.permutations)))
        indices = [start + i for start in starts for i in range(self.clip_frames)]
        frames = self._crop_and_flip(video, indices, rng)
        ordered = frames.view(self.num_clips, self.clip_frames, *frames.shape[1:])
        clips = torch.stack(
            [normalize_clip(ordered[k]) for k in self.permutations[label]]
        )
        return {"clips": clips, "label": torch.tensor(label, dtype=torch.int64)}


class SpeedTrainClips(RandomClips):
    """Clips read at a random frame stride, for playback-speed classification.

    Items are ``{"clip": (3, T, S, S), "label": int64}`` where ``label`` is the
    index of the clip's stride in ``strides``; the strides are drawn uniformly
    and the frames come from :func:`speed_clip_indices`.

    Parameters
    ----------
    videos : Sequence[ActionVideo]
        The videos; each needs ``speed_frames_needed(num_frames, strides)``
        frames (61 for 16-frame clips).
    num_frames : int
        Frames ``T`` of the clip (official: 16).
    crop_size : int
        Crop size ``S``.
    seed : int
        Seed of the per-item generators.
    strides : Sequence[int], optional
        The distinct strides, by default :data:`SPEED_STRIDES`.
    """

    def __init__(
        self,
        videos: Sequence[ActionVideo],
        num_frames: int,
        crop_size: int,
        seed: int,
        strides: Sequence[int] = SPEED_STRIDES,
    ) -> None:
        super().__init__(videos, num_frames, crop_size, seed)
        self.strides = tuple(int(s) for s in strides)
        if len(self.strides) < 2 or len(set(self.strides)) != len(self.strides):
            raise ValueError(
                f"SpeedTrainClips: strides must be >= 2 distinct integers, got "
                f"{tuple(strides)!r}"
            )

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._rng(index)
        video = self.videos[index]
        label = int(rng.integers(len(self.strides)))
        try:
            indices = speed_clip_indices(
                video.num_frames, self.num_frames, self.strides[label], rng
            )
        except ValueError as error:
            raise DatasetError(f"video {video.name!r}: {error}") from None
        clip = normalize_clip(self._crop_and_flip(video, indices, rng))
        return {"clip": clip, "label": torch.tensor(label, dtype=torch.int64)}
