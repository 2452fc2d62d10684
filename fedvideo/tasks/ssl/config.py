"""Settings of the ssl task: its sections of the run config, validated once.

``[tool.flwr.app.config.ssl]`` and ``[...synthetic-action]`` of
``pyproject.toml`` hold the defaults.
"""

from __future__ import annotations

import dataclasses

from fedvideo.config import at_least

__all__ = [
    "SSLConfig",
    "SyntheticActionConfig",
]


@dataclasses.dataclass(frozen=True)
class SSLConfig:
    """Settings of the ``[tool.flwr.app.config.ssl]`` section."""

    dataset: str
    eval_dataset: str
    partitioning: str
    share_head: bool
    num_frames: int = dataclasses.field(metadata=at_least(16))
    crop_size: int = dataclasses.field(metadata=at_least(32))
    num_patches: int = dataclasses.field(metadata=at_least(1))
    batch_size: int = dataclasses.field(metadata=at_least(1))
    lr: float = dataclasses.field(metadata=at_least(0.0))
    momentum: float = dataclasses.field(metadata=at_least(0.0))
    weight_decay: float = dataclasses.field(metadata=at_least(0.0))
    grad_clip: float = dataclasses.field(metadata=at_least(0.0))
    eval_clips: int = dataclasses.field(metadata=at_least(1))
    finetune_epochs: int = dataclasses.field(metadata=at_least(0))
    finetune_lr: float = dataclasses.field(metadata=at_least(0.0))
    finetune_batch_size: int = dataclasses.field(metadata=at_least(1))


@dataclasses.dataclass(frozen=True)
class SyntheticActionConfig:
    """The embedded synthetic action dataset (``[...config.synthetic-action]``)."""

    classes: int = dataclasses.field(metadata=at_least(2))
    train_per_class: int = dataclasses.field(metadata=at_least(1))
    test_per_class: int = dataclasses.field(metadata=at_least(1))
    frames: int = dataclasses.field(metadata=at_least(2))
    size: int = dataclasses.field(metadata=at_least(16))
