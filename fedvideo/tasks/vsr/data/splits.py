"""Training and held-out videos of the configured VSR dataset, loaded once."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from fedvideo.tasks.vsr.config import SyntheticConfig
from fedvideo.tasks.vsr.data.folders import discover_vsr_dataset
from fedvideo.tasks.vsr.data.frame_cache import FrameCache, cache_videos
from fedvideo.tasks.vsr.data.synthetic import synthetic_vsr_splits
from fedvideo.tasks.vsr.data.video import Video

__all__ = [
    "VideoSplits",
    "folder_splits",
    "synthetic_splits",
]


@dataclasses.dataclass(frozen=True)
class VideoSplits:
    """Training and held-out videos of one dataset."""

    train: Sequence[Video]
    test: Sequence[Video]
    eval_y_channel: bool


@functools.lru_cache(maxsize=4)
def synthetic_splits(seed: int, synthetic: SyntheticConfig, scale: int) -> VideoSplits:
    """Generate the synthetic dataset of ``[..config.synthetic]`` (cached)."""
    train, test = synthetic_vsr_splits(
        seed=seed,
        train_videos=synthetic.train_videos,
        test_videos=synthetic.test_videos,
        frames=synthetic.frames,
        height=synthetic.height,
        width=synthetic.width,
        scale=scale,
        domains=synthetic.domain_list,
    )
    return VideoSplits(train, test, eval_y_channel=False)


@functools.lru_cache(maxsize=4)
def folder_splits(
    root: str, scale: int, cache_mb: int, video_max_frames: int = 30
) -> VideoSplits:
    """Videos of a REDS/Vid4 root or a folder of video files (cached per process).

    With ``cache_mb``, decoded frames of frame folders stay in memory: a
    multigrid stage change (longer clips, larger crops) and the following
    epochs reuse the frames already read. Video files are decoded at once, up
    to ``video_max_frames`` frames each.
    """
    dataset = discover_vsr_dataset(root, scale=scale, max_frames=video_max_frames)
    if not cache_mb:
        return VideoSplits(dataset.train, dataset.test, dataset.eval_y_channel)
    cache = FrameCache(cache_mb * 2**20)
    return VideoSplits(
        cache_videos(dataset.train, cache),
        cache_videos(dataset.test, cache),
        dataset.eval_y_channel,
    )
