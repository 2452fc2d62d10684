"""Data of the ssl task.

* :mod:`~fedvideo.tasks.ssl.data.action_video`: labelled clips, in memory or as
  frame folders.
* :mod:`~fedvideo.tasks.ssl.data.synthetic`: the embedded synthetic action
  dataset (classes differ only in motion).
* :mod:`~fedvideo.tasks.ssl.data.action_datasets`: UCF-101, HMDB-51 and
  Kinetics-400 raw layouts, and the prepared frame-folder layout the task reads.
* :mod:`~fedvideo.tasks.ssl.data.ctp_augment`: Catch-the-Patch patch pasting.
* :mod:`~fedvideo.tasks.ssl.data.clips`: clip datasets for pretraining,
  fine-tuning and multi-clip testing.
* :mod:`~fedvideo.tasks.ssl.data.splits`: the configured dataset, loaded once.
"""
