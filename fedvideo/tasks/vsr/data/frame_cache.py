"""A byte-budgeted LRU cache of decoded LR/HR frames, and videos that use it.

Multigrid training changes the crop size and clip length between stages; the
frames themselves do not change. :class:`CachedVideo` wraps any
:class:`~fedvideo.tasks.vsr.data.video.Video` so that frames it has decoded once
are kept in a shared :class:`FrameCache` and are not read from disk again while they fit
in the cache's byte budget. :func:`cache_videos` wraps a whole list.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from fedvideo.data.errors import require_int
from fedvideo.data.frames import check_frame_indices
from fedvideo.tasks.vsr.data.video import InMemoryVideo, Video, VideoWrapper

__all__ = ["CacheStats", "CachedVideo", "FrameCache", "cache_videos"]

#: A cache key: ``(video name, frame index)``.
FrameKey = tuple[Hashable, int]


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a :class:`FrameCache`'s counters.

    Attributes
    ----------
    hits : int
        Frame look-ups answered from the cache.
    misses : int
        Frame look-ups not in the cache.
    evictions : int
        Frames dropped to stay within the budget.
    entries : int
        Frames held now.
    bytes_used : int
        Bytes held now (LR plus HR arrays), never more than ``max_bytes``.
    max_bytes : int
        The byte budget.
    """

    hits: int
    misses: int
    evictions: int
    entries: int
    bytes_used: int
    max_bytes: int


class FrameCache:
    """Thread-safe LRU cache of decoded ``(lr, hr)`` frames under a byte budget.

    Entries are keyed by ``(video name, frame index)``, so the videos sharing one
    cache must have distinct names. An entry costs ``lr.nbytes + hr.nbytes``;
    when adding one would exceed ``max_bytes``, the least recently used entries
    are evicted first. A frame larger than the whole budget is not cached. Stored
    arrays are private, contiguous, read-only copies.

    Parameters
    ----------
    max_bytes : int
        Byte budget (>= 0; 0 caches nothing).

    Raises
    ------
    DatasetError
        If ``max_bytes`` is not a non-negative integer.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = require_int(max_bytes, "max_bytes", 0)
        self._lock = threading.Lock()
        self._entries: OrderedDict[FrameKey, tuple[np.ndarray, np.ndarray]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    @property
    def max_bytes(self) -> int:
        """The byte budget."""
        return self._max_bytes

    def get_many(
        self, keys: Iterable[FrameKey]
    ) -> dict[FrameKey, tuple[np.ndarray, np.ndarray]]:
        """Look up ``keys``; return the cached ones, marking them recently used.

        Every key counts as one hit or one miss.

        Parameters
        ----------
        keys : Iterable[FrameKey]
            ``(video name, frame index)`` pairs.

        Returns
        -------
        dict[FrameKey, tuple[np.ndarray, np.ndarray]]
            The read-only ``(lr, hr)`` frames of the keys that were cached.
        """
        found = {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    self._misses += 1
                else:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    found[key] = entry
        return found

    def get(self, key: FrameKey) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the cached ``(lr, hr)`` frame for ``key``, or None (counted)."""
        return self.get_many([key]).get(key)

    def put(self, key: FrameKey, lr: np.ndarray, hr: np.ndarray) -> bool:
        """Store read-only copies of one frame's ``lr`` and ``hr`` arrays.

        Evicts least recently used frames as needed. Replaces an existing entry
        for ``key``.

        Returns
        -------
        bool
            False if the frame is larger than the whole budget (not stored).
        """
        lr, hr = _frozen_copy(lr), _frozen_copy(hr)
        size = lr.nbytes + hr.nbytes
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes + old[1].nbytes
            if size > self._max_bytes:
                return False
            while self._bytes + size > self._max_bytes:
                _, (old_lr, old_hr) = self._entries.popitem(last=False)
                self._bytes -= old_lr.nbytes + old_hr.nbytes
                self._evictions += 1
            self._entries[key] = (lr, hr)
            self._bytes += size
            return True

    def stats(self) -> CacheStats:
        """Return a snapshot of the counters."""
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
                entries=len(self._entries),
                bytes_used=self._bytes,
                max_bytes=self._max_bytes,
            )

    def clear(self) -> None:
        """Drop every frame and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._bytes = self._hits = self._misses = self._evictions = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __repr__(self) -> str:
        stats = self.stats()
        return (
            f"FrameCache(max_bytes={stats.max_bytes}, entries={stats.entries}, "
            f"bytes_used={stats.bytes_used})"
        )


def _frozen_copy(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True, order="C")
    copy.setflags(write=False)
    return copy


class CachedVideo(VideoWrapper):
    """A :class:`~fedvideo.tasks.vsr.data.video.Video` whose frames go through a cache.

    :meth:`load` takes the frames it finds in ``cache`` from there and reads all
    the others with a single ``video.load`` call, then caches them. The result is
    identical to ``video.load(indices)``. Two threads missing the same frame at
    once may both read it; the result is still correct.

    Parameters
    ----------
    video : Video
        The clip to wrap; its name is the cache key's first part.
    cache : FrameCache
        The cache, usually shared by all of a client's videos.
    """

    def __init__(self, video: Video, cache: FrameCache) -> None:
        super().__init__(video)
        self.cache = cache

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Load the frames at ``indices``; see :meth:`Video.load`.

        Returns
        -------
        tuple[np.ndarray, np.ndarray]
            Fresh, writable uint8 arrays ``(T, h, w, 3)`` and ``(T, H, W, 3)``.

        Raises
        ------
        DatasetError
            For an index out of range, or whatever the wrapped video raises.
        """
        name = self.video.name
        checked = check_frame_indices(name, indices, self.video.num_frames)
        if not checked:
            return self.video.load(checked)
        unique = list(dict.fromkeys(checked))
        found = self.cache.get_many((name, i) for i in unique)
        frames = {index: frame for (_, index), frame in found.items()}
        missing = [index for index in unique if index not in frames]
        if missing:
            lr, hr = self.video.load(missing)
            for position, index in enumerate(missing):
                frames[index] = (lr[position], hr[position])
                self.cache.put((name, index), lr[position], hr[position])
        return (
            np.stack([frames[index][0] for index in checked]),
            np.stack([frames[index][1] for index in checked]),
        )

    def __repr__(self) -> str:
        return f"CachedVideo({self.video!r})"


def cache_videos(videos: Iterable[Video], cache: FrameCache) -> list[Video]:
    """Wrap each video in a :class:`CachedVideo` using ``cache``.

    :class:`~fedvideo.tasks.vsr.data.video.InMemoryVideo` clips (already in memory) and
    videos that are already :class:`CachedVideo` are returned unchanged.

    Parameters
    ----------
    videos : Iterable[Video]
        The clips.
    cache : FrameCache
        The cache to share.

    Returns
    -------
    list[Video]
        The clips, in the same order.
    """
    return [
        video
        if isinstance(video, InMemoryVideo | CachedVideo)
        else CachedVideo(video, cache)
        for video in videos
    ]
