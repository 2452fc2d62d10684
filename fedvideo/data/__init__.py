"""Task-agnostic data helpers that every task's data builds on.

* :mod:`~fedvideo.data.errors`: :class:`DatasetError`, whose message names the
  file, folder or setting at fault, and checked JSON / integer reading.
* :mod:`~fedvideo.data.frames`: frame files (listing, reading, naming).
* :mod:`~fedvideo.data.decode`: reading and writing video files with PyAV,
  and decoding them into frame folders.
* :mod:`~fedvideo.data.partition`: splitting a dataset among clients (IID,
  quantity skew, by class, Kinetics non-IID) and partition files.

A task's own data (clips, datasets, synthetic generators, layouts on disk)
lives in its package, ``fedvideo.tasks.<task>.data``.
"""
