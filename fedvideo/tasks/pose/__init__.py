"""Pose estimation across resolutions (RAF): the ``pose`` task.

* :mod:`~fedvideo.tasks.pose.task`: :class:`~fedvideo.tasks.pose.task.PoseTask`.
* :mod:`~fedvideo.tasks.pose.config`: its run-config sections.
* :mod:`~fedvideo.tasks.pose.models`: ViTPose with convolutional positional
  embeddings, and loading MAE/ViT backbone weights.
* :mod:`~fedvideo.tasks.pose.data`: person records and datasets, MPII, the
  synthetic figures, clients' resolutions.
* :mod:`~fedvideo.tasks.pose.losses`, :mod:`~fedvideo.tasks.pose.metrics`: the
  heatmap loss, RAF's MRKD, and PCKh.
* :mod:`~fedvideo.tasks.pose.keypoints`, :mod:`~fedvideo.tasks.pose.evaluation`:
  joints from heatmaps and the PCKh evaluation and resolution sweep.
* :mod:`~fedvideo.tasks.pose.compare`, :mod:`~fedvideo.tasks.pose.prepare`: the
  ``fedvideo compare-pose`` and ``fedvideo prepare`` subcommands.
"""
