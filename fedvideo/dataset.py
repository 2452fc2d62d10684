"""Flower baseline entry point for data; see :mod:`fedvideo.data`."""

from fedvideo.data.action_datasets import load_prepared_action_dataset
from fedvideo.data.mpii import load_mpii
from fedvideo.data.partition import (
    partition_by_class,
    partition_iid,
    partition_iid_shuffled,
    partition_kinetics_noniid,
    partition_quantity_skew,
    read_partition,
    select_partition,
)
from fedvideo.data.pose import PoseEvalSet, PoseTrainSet
from fedvideo.data.pose_partition import assign_pose_partitions
from fedvideo.data.ssl_clips import CtPTrainClips, LabelledTrainClips, UniformClips
from fedvideo.data.synthetic_action import synthetic_action_splits
from fedvideo.data.synthetic_pose import synthetic_pose_records
from fedvideo.data.synthetic_vsr import make_synthetic_videos, synthetic_vsr_splits
from fedvideo.data.vsr_dataset import VSRTestClips, VSRTrainClips
from fedvideo.data.vsr_folders import discover_vsr_dataset

__all__ = [
    "CtPTrainClips",
    "LabelledTrainClips",
    "PoseEvalSet",
    "PoseTrainSet",
    "UniformClips",
    "VSRTestClips",
    "VSRTrainClips",
    "assign_pose_partitions",
    "discover_vsr_dataset",
    "load_mpii",
    "load_prepared_action_dataset",
    "make_synthetic_videos",
    "partition_by_class",
    "partition_iid",
    "partition_iid_shuffled",
    "partition_kinetics_noniid",
    "partition_quantity_skew",
    "read_partition",
    "select_partition",
    "synthetic_action_splits",
    "synthetic_pose_records",
    "synthetic_vsr_splits",
]
