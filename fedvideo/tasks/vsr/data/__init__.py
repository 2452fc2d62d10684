"""Data of the vsr task.

* :mod:`~fedvideo.tasks.vsr.data.video`: the :class:`Video` protocol, in-memory
  and frame-folder clips (paired LR and HR frames).
* :mod:`~fedvideo.tasks.vsr.data.synthetic`: the embedded synthetic dataset.
* :mod:`~fedvideo.tasks.vsr.data.folders`: REDS, Vid4 and folders of video
  files on disk.
* :mod:`~fedvideo.tasks.vsr.data.video_files`: video files as test clips.
* :mod:`~fedvideo.tasks.vsr.data.degradation`: the BI (bicubic) downsampling.
* :mod:`~fedvideo.tasks.vsr.data.frame_cache`: decoded frames kept in memory.
* :mod:`~fedvideo.tasks.vsr.data.clips`: PyTorch training and test datasets.
* :mod:`~fedvideo.tasks.vsr.data.splits`: the configured dataset, loaded once.
"""
