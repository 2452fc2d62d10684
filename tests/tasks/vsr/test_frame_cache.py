"""Tests for the decoded-frame LRU cache and cached videos."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.clips import mirrored_indices
from fedvideo.tasks.vsr.data.frame_cache import CachedVideo, FrameCache, cache_videos
from fedvideo.tasks.vsr.data.video import FrameFolderVideo, InMemoryVideo

SCALE = 2
LR_SIZE = (4, 6)
# One frame: LR 4*6*3 + HR 8*12*3 bytes.
FRAME_BYTES = 4 * 6 * 3 + 8 * 12 * 3


def random_arrays(frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    lr = rng.integers(0, 256, (frames, *LR_SIZE, 3), dtype=np.uint8)
    hr = rng.integers(
        0, 256, (frames, LR_SIZE[0] * SCALE, LR_SIZE[1] * SCALE, 3), dtype=np.uint8
    )
    return lr, hr


class CountingVideo:
    """A fake (non-InMemoryVideo) clip that records every ``load`` call."""

    def __init__(self, name: str, frames: int = 8, seed: int = 0) -> None:
        self.inner = InMemoryVideo(name, *random_arrays(frames, seed))
        self.name, self.num_frames = name, frames
        self.lr_size, self.hr_size = self.inner.lr_size, self.inner.hr_size
        self.calls: list[list[int]] = []

    @property
    def reads(self) -> int:
        return sum(len(call) for call in self.calls)

    def load(self, indices: Sequence[int]):
        self.calls.append([int(i) for i in indices])
        return self.inner.load(indices)


def assert_same(got, expected):
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype == np.uint8
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_second_load_reads_nothing():
    video = CountingVideo("a")
    cached = CachedVideo(video, FrameCache(10**6))
    first = cached.load([1, 2, 3])
    assert video.calls == [[1, 2, 3]]
    second = cached.load([1, 2, 3])
    assert video.calls == [[1, 2, 3]]
    assert_same(second, first)
    stats = cached.cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (3, 3, 3)
    assert stats.bytes_used == 3 * FRAME_BYTES


def test_overlapping_load_reads_only_missing_frames_in_one_call():
    video = CountingVideo("a")
    cached = CachedVideo(video, FrameCache(10**6))
    cached.load([2, 3, 4])
    video.calls.clear()
    result = cached.load([6, 3, 0, 4, 6, 5])
    assert video.calls == [[6, 0, 5]]
    assert_same(result, video.inner.load([6, 3, 0, 4, 6, 5]))


@pytest.mark.parametrize(
    "indices",
    [
        [0, 1, 2, 3],
        [3, 3, 1, 3],
        mirrored_indices(3, 0, 11),
        mirrored_indices(8, 5, 15),
        [7],
    ],
)
def test_output_equals_uncached_video(indices):
    video = CountingVideo("a", seed=3)
    cached = CachedVideo(video, FrameCache(10**6))
    for _ in range(2):  # cold, then warm
        assert_same(cached.load(indices), video.inner.load(indices))
    assert video.reads == len(set(indices))


def test_returned_arrays_are_fresh_and_cached_ones_read_only():
    video = CountingVideo("a")
    cache = FrameCache(10**6)
    cached = CachedVideo(video, cache)
    lr, hr = cached.load([0, 1])
    assert lr.flags.writeable and hr.flags.writeable
    lr[:] = 0
    hr[:] = 0
    assert_same(cached.load([0, 1]), video.inner.load([0, 1]))
    entry = cache.get(("a", 0))
    assert entry is not None
    for array in entry:
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0, 0, 0] = 1


def test_lru_eviction_under_small_budget():
    video = CountingVideo("a")
    cache = FrameCache(3 * FRAME_BYTES + FRAME_BYTES // 2)  # room for 3 frames
    cached = CachedVideo(video, cache)
    cached.load([0, 1, 2])
    assert cache.stats().bytes_used <= cache.max_bytes
    cached.load([0])  # 0 is now the most recently used; 1 the least
    cached.load([3])  # evicts 1
    assert ("a", 1) not in cache
    assert all(("a", i) in cache for i in (0, 2, 3))
    stats = cache.stats()
    assert stats.entries == 3 and stats.evictions == 1
    assert stats.bytes_used == 3 * FRAME_BYTES <= cache.max_bytes
    video.calls.clear()
    assert_same(cached.load([1, 0]), video.inner.load([1, 0]))
    assert video.calls == [[1]]  # 0 still cached, 1 read again (evicting 2)
    assert ("a", 2) not in cache


def test_budget_is_never_exceeded_and_loads_bigger_than_it_are_correct():
    video = CountingVideo("a", frames=12)
    cache = FrameCache(2 * FRAME_BYTES)
    cached = CachedVideo(video, cache)
    rng = np.random.default_rng(0)
    for _ in range(20):
        indices = rng.integers(0, 12, 6).tolist()
        assert_same(cached.load(indices), video.inner.load(indices))
        stats = cache.stats()
        assert stats.bytes_used <= stats.max_bytes and stats.entries <= 2


def test_frames_larger_than_the_budget_are_not_cached():
    video = CountingVideo("a")
    cache = FrameCache(FRAME_BYTES - 1)
    cached = CachedVideo(video, cache)
    assert_same(cached.load([0, 0, 1]), video.inner.load([0, 0, 1]))
    assert_same(cached.load([0]), video.inner.load([0]))
    assert video.calls == [[0, 1], [0]]
    assert cache.stats().entries == 0 and cache.stats().bytes_used == 0
    assert not FrameCache(0).put(("a", 0), *video.inner.load([0]))


def test_videos_share_a_cache_by_name_and_clear_resets():
    first, second = CountingVideo("a", seed=1), CountingVideo("b", seed=2)
    cache = FrameCache(10**6)
    cached = cache_videos([first, second], cache)
    assert_same(cached[0].load([0]), first.inner.load([0]))
    assert_same(cached[1].load([0]), second.inner.load([0]))
    assert len(cache) == 2
    cache.clear()
    stats = cache.stats()
    assert (stats.entries, stats.bytes_used, stats.hits, stats.misses) == (0, 0, 0, 0)
    cached[0].load([0])
    assert first.calls == [[0], [0]]


def test_cache_videos_skips_in_memory_and_already_cached_videos():
    cache = FrameCache(10**6)
    memory = InMemoryVideo("m", *random_arrays(3))
    fake = CountingVideo("f")
    already = CachedVideo(CountingVideo("c"), cache)
    wrapped = cache_videos([memory, fake, already], cache)
    assert wrapped[0] is memory and wrapped[2] is already
    assert isinstance(wrapped[1], CachedVideo) and wrapped[1].video is fake
    assert wrapped[1].cache is cache
    assert (wrapped[1].name, wrapped[1].num_frames) == ("f", 8)
    assert (wrapped[1].lr_size, wrapped[1].hr_size) == (LR_SIZE, (8, 12))


def test_out_of_range_index_names_the_video():
    cached = CachedVideo(CountingVideo("clip7"), FrameCache(10**6))
    with pytest.raises(DatasetError, match="'clip7'.*frame index 8"):
        cached.load([0, 8])


def test_invalid_budget_is_an_error():
    with pytest.raises(DatasetError, match="max_bytes"):
        FrameCache(-1)


def test_concurrent_loads_are_consistent():
    video = CountingVideo("a", frames=12)
    cache = FrameCache(5 * FRAME_BYTES)
    cached = CachedVideo(video, cache)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(50):
                indices = rng.integers(0, 12, 4).tolist()
                assert_same(cached.load(indices), video.inner.load(indices))
        except BaseException as err:  # reported in the main thread
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = cache.stats()
    assert stats.bytes_used <= stats.max_bytes and stats.entries <= 5


def write_frames(folder: Path, arrays: np.ndarray) -> None:
    folder.mkdir(parents=True)
    for index, frame in enumerate(arrays):
        Image.fromarray(frame).save(folder / f"{index:08d}.png")


def test_frame_folder_video_through_the_cache(tmp_path, monkeypatch):
    lr, hr = random_arrays(5, seed=9)
    write_frames(tmp_path / "lr", lr)
    write_frames(tmp_path / "hr", hr)
    video = FrameFolderVideo("disk", tmp_path / "lr", tmp_path / "hr", SCALE)
    cached = cache_videos([video], FrameCache(10**6))[0]
    assert isinstance(cached, CachedVideo)
    indices = mirrored_indices(5, 3, 9)
    assert_same(cached.load(indices), (lr[indices], hr[indices]))

    def fail(*args, **kwargs):
        raise AssertionError("frame read from disk again")

    monkeypatch.setattr(FrameFolderVideo, "_read", staticmethod(fail))
    assert_same(cached.load(indices), (lr[indices], hr[indices]))
