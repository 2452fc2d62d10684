"""Flower baseline entry point for data; see :mod:`fedvideo.data`."""

from fedvideo.data.partition import (
    partition_by_class,
    partition_iid,
    partition_quantity_skew,
    read_partition,
    select_partition,
)
from fedvideo.data.synthetic_vsr import make_synthetic_videos, synthetic_vsr_splits
from fedvideo.data.vsr_dataset import VSRTestClips, VSRTrainClips
from fedvideo.data.vsr_folders import discover_vsr_dataset

__all__ = [
    "VSRTestClips",
    "VSRTrainClips",
    "discover_vsr_dataset",
    "make_synthetic_videos",
    "partition_by_class",
    "partition_iid",
    "partition_quantity_skew",
    "read_partition",
    "select_partition",
    "synthetic_vsr_splits",
]
