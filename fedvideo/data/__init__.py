"""Data for federated video learning: clips, datasets, partitions.

Video super-resolution (VSR):

* :mod:`~fedvideo.data.video`: the :class:`Video` protocol, in-memory and
  frame-folder clips.
* :mod:`~fedvideo.data.synthetic_vsr`: the embedded synthetic dataset.
* :mod:`~fedvideo.data.vsr_folders`: REDS and Vid4 on disk.
* :mod:`~fedvideo.data.vsr_dataset`: PyTorch training and test datasets.
* :mod:`~fedvideo.data.partition`: splitting videos among clients.

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
