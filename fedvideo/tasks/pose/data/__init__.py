"""Data of the pose task.

* :mod:`~fedvideo.tasks.pose.data.datasets`: person records, crop geometry,
  heatmap targets and the multi-resolution training and evaluation datasets.
* :mod:`~fedvideo.tasks.pose.data.synthetic`: the embedded synthetic figures
  with the 16 MPII joints.
* :mod:`~fedvideo.tasks.pose.data.mpii`: MPII in its HRNet/mmpose layout.
* :mod:`~fedvideo.tasks.pose.data.partition`: clients' native resolutions and
  samples.
* :mod:`~fedvideo.tasks.pose.data.splits`: the configured dataset, loaded once.
"""
