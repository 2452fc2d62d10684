"""Training and test people of a pose dataset, loaded once per process."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from fedvideo.tasks.pose.config import SyntheticPoseConfig
from fedvideo.tasks.pose.data.datasets import PoseRecord
from fedvideo.tasks.pose.data.mpii import load_mpii
from fedvideo.tasks.pose.data.synthetic import synthetic_pose_records

__all__ = [
    "PoseSplits",
    "load_pose_splits",
    "mpii_train",
]


@dataclasses.dataclass(frozen=True)
class PoseSplits:
    """Training and test samples of a pose dataset."""

    train: Sequence[PoseRecord]
    test: Sequence[PoseRecord]


@functools.lru_cache(maxsize=4)
def _synthetic_splits(seed: int, synthetic: SyntheticPoseConfig) -> PoseSplits:
    records = synthetic_pose_records(
        seed, synthetic.train_images + synthetic.test_images, synthetic.image_size
    )
    return PoseSplits(
        records[: synthetic.train_images], records[synthetic.train_images :]
    )


@functools.lru_cache(maxsize=4)
def _mpii_splits(root: str) -> PoseSplits:
    return PoseSplits(load_mpii(root, "train"), load_mpii(root, "valid"))


@functools.lru_cache(maxsize=4)
def mpii_train(root: str) -> list[PoseRecord]:
    """Read the training people of an MPII root (cached)."""
    return load_mpii(root, "train")


def load_pose_splits(
    dataset: str, seed: int, synthetic: SyntheticPoseConfig
) -> PoseSplits:
    """Load ``"synthetic"`` or an MPII root; cached per process."""
    if dataset == "synthetic":
        return _synthetic_splits(seed, synthetic)
    return _mpii_splits(dataset)
