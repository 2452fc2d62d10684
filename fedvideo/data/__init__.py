"""Data for federated video learning: clips, datasets, partitions.

Video super-resolution (VSR):

* :mod:`~fedvideo.data.video`: the :class:`Video` protocol, in-memory and
  frame-folder clips.
* :mod:`~fedvideo.data.synthetic_vsr`: the embedded synthetic dataset.
* :mod:`~fedvideo.data.vsr_folders`: REDS and Vid4 on disk.
* :mod:`~fedvideo.data.vsr_dataset`: PyTorch training and test datasets.
* :mod:`~fedvideo.data.partition`: splitting videos among clients.

Action videos (self-supervised pretraining, ``ssl``):

* :mod:`~fedvideo.data.action_video`: labelled clips, in memory or as frame
  folders.
* :mod:`~fedvideo.data.synthetic_action`: the embedded synthetic action dataset
  (classes differ only in motion).
* :mod:`~fedvideo.data.action_datasets`: UCF-101, HMDB-51 and Kinetics-400 raw
  layouts, and the prepared frame-folder layout the task reads.
* :mod:`~fedvideo.data.decode`: decoding videos into frames with PyAV.
* :mod:`~fedvideo.data.ctp_augment`: Catch-the-Patch patch pasting.
* :mod:`~fedvideo.data.ssl_clips`: PyTorch clip datasets for pretraining,
  fine-tuning and multi-clip testing.

Human pose images (``pose``):

* :mod:`~fedvideo.data.pose`: person records, crop geometry, heatmap targets and
  the multi-resolution training and evaluation datasets.
* :mod:`~fedvideo.data.synthetic_pose`: the embedded synthetic figures with the
  16 MPII joints.
* :mod:`~fedvideo.data.mpii`: MPII in its HRNet/mmpose layout.
* :mod:`~fedvideo.data.pose_partition`: clients' native resolutions and samples.

Every data problem raises :class:`DatasetError`, whose message names the file,
folder or setting at fault.
"""

from fedvideo.data.errors import DatasetError
from fedvideo.data.partition import (
    partition_by_class,
    partition_iid,
    partition_names,
    partition_quantity_skew,
    read_labels,
    read_partition,
    select_partition,
    write_partition_file,
)
from fedvideo.data.synthetic_vsr import (
    bicubic_downsample,
    make_synthetic_videos,
    synthetic_vsr_splits,
    write_synthetic_reds,
)
from fedvideo.data.video import FrameFolderVideo, InMemoryVideo, Video
from fedvideo.data.vsr_dataset import VSRTestClips, VSRTrainClips
from fedvideo.data.vsr_folders import (
    REDS4_CLIPS,
    VID4_CLIPS,
    VSRDataset,
    discover_vsr_dataset,
)

__all__ = [
    "REDS4_CLIPS",
    "VID4_CLIPS",
    "DatasetError",
    "FrameFolderVideo",
    "InMemoryVideo",
    "VSRDataset",
    "VSRTestClips",
    "VSRTrainClips",
    "Video",
    "bicubic_downsample",
    "discover_vsr_dataset",
    "make_synthetic_videos",
    "partition_by_class",
    "partition_iid",
    "partition_names",
    "partition_quantity_skew",
    "read_labels",
    "read_partition",
    "select_partition",
    "synthetic_vsr_splits",
    "write_partition_file",
    "write_synthetic_reds",
]
