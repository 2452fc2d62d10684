"""Training and test videos of an action dataset, loaded once per process."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from fedvideo.tasks.ssl.config import SyntheticActionConfig
from fedvideo.tasks.ssl.data.action_datasets import load_prepared_action_dataset
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.synthetic import synthetic_action_splits

__all__ = [
    "ActionSplits",
    "load_action_splits",
    "prepared_splits",
]


@dataclasses.dataclass(frozen=True)
class ActionSplits:
    """Training and test videos of an action dataset."""

    train: Sequence[ActionVideo]
    test: Sequence[ActionVideo]
    num_classes: int


@functools.lru_cache(maxsize=4)
def _synthetic_splits(seed: int, synthetic: SyntheticActionConfig) -> ActionSplits:
    train, test = synthetic_action_splits(
        seed=seed,
        num_classes=synthetic.classes,
        train_per_class=synthetic.train_per_class,
        test_per_class=synthetic.test_per_class,
        frames=synthetic.frames,
        size=synthetic.size,
        camera_motion=synthetic.camera_motion,
    )
    return ActionSplits(train, test, synthetic.classes)


@functools.lru_cache(maxsize=4)
def prepared_splits(root: str) -> ActionSplits:
    """Read a folder prepared by ``fedvideo prepare ssl`` (cached)."""
    dataset = load_prepared_action_dataset(root)
    return ActionSplits(dataset.train, dataset.test, len(dataset.classes))


def load_action_splits(
    dataset: str, seed: int, synthetic: SyntheticActionConfig
) -> ActionSplits:
    """Videos of ``"synthetic"`` or of a folder prepared by ``fedvideo prepare ssl``.

    Loaded once per process and cached.
    """
    if dataset == "synthetic":
        return _synthetic_splits(seed, synthetic)
    return prepared_splits(dataset)
