"""Settings of the ssl task: its sections of the run config, validated once.

``[tool.flwr.app.config.ssl]``, ``[...ssl.ctp]`` and ``[...synthetic-action]``
of ``pyproject.toml`` hold the defaults.
"""

from __future__ import annotations

import dataclasses

from fedvideo.config import at_least, choice, in_unit_interval
from fedvideo.tasks.ssl.curriculum import CtPCurriculum
from fedvideo.tasks.ssl.data.ctp_augment import TRAJECTORIES, CtPAugmentSettings

__all__ = [
    "PRETEXTS",
    "CtPConfig",
    "SSLConfig",
    "SyntheticActionConfig",
]

#: Pretext tasks of ``ssl.pretext``.
PRETEXTS: tuple[str, ...] = ("ctp", "vcop", "speed")

#: Patch contents of ``ssl.ctp.patch-content``.
PATCH_CONTENTS: tuple[str, ...] = ("clip", "solid")


@dataclasses.dataclass(frozen=True)
class SSLConfig:
    """Settings of the ``[tool.flwr.app.config.ssl]`` section."""

    pretext: str = dataclasses.field(metadata=choice(*PRETEXTS))
    dataset: str
    eval_dataset: str
    partitioning: str
    share_head: bool
    num_frames: int = dataclasses.field(metadata=at_least(16))
    crop_size: int = dataclasses.field(metadata=at_least(32))
    num_patches: int = dataclasses.field(metadata=at_least(1))
    batch_size: int = dataclasses.field(metadata=at_least(1))
    lr: float = dataclasses.field(metadata=at_least(0.0))
    lr_decay_at: float = dataclasses.field(metadata=in_unit_interval())
    momentum: float = dataclasses.field(metadata=at_least(0.0))
    weight_decay: float = dataclasses.field(metadata=at_least(0.0))
    grad_clip: float = dataclasses.field(metadata=at_least(0.0))
    eval_clips: int = dataclasses.field(metadata=at_least(1))
    finetune_epochs: int = dataclasses.field(metadata=at_least(0))
    finetune_lr: float = dataclasses.field(metadata=at_least(0.0))
    finetune_batch_size: int = dataclasses.field(metadata=at_least(1))


@dataclasses.dataclass(frozen=True)
class CtPConfig:
    """Catch-the-Patch settings (``[tool.flwr.app.config.ssl.ctp]``).

    The official values are ``trajectory = "key-frames"``, ``speed-scale =
    1``, ``patch-content = "clip"``, ``size-change = 0.025``, ``paste-prob =
    0.8``, ``min-opacity = 0.8``, ``soft-edge-prob = 0.5``,
    ``background-contrast = 1`` and no
    curriculum (docs/fedvssl.md).
    """

    trajectory: str = dataclasses.field(metadata=choice(*TRAJECTORIES))
    speed_scale: float = dataclasses.field(metadata=at_least(0.0))
    patch_content: str = dataclasses.field(metadata=choice(*PATCH_CONTENTS))
    size_change: float = dataclasses.field(metadata=at_least(0.0))
    paste_prob: float = dataclasses.field(metadata=in_unit_interval())
    min_opacity: float = dataclasses.field(metadata=in_unit_interval())
    soft_edge_prob: float = dataclasses.field(metadata=in_unit_interval())
    background_contrast: float = dataclasses.field(metadata=in_unit_interval())
    curriculum: float = dataclasses.field(metadata=in_unit_interval())

    def augment_settings(self, num_patches: int) -> CtPAugmentSettings:
        """Return the augmentation these settings describe (the curriculum's target)."""
        official = CtPAugmentSettings()
        key_frame_probs, interpolation_probs = TRAJECTORIES[self.trajectory]
        return CtPAugmentSettings(
            num_patches=num_patches,
            max_speed=official.max_speed * self.speed_scale,
            max_log_size_change=self.size_change,
            key_frame_probs=key_frame_probs,
            interpolation_probs=interpolation_probs,
            paste_prob=self.paste_prob,
            opacity_range=(self.min_opacity, 1.0),
            soft_edge_prob=self.soft_edge_prob,
            solid_prob=1.0 if self.patch_content == "solid" else 0.0,
            background_contrast=self.background_contrast,
        )

    def curriculum_for(self, num_patches: int) -> CtPCurriculum:
        """Return the curriculum from the easy start to :meth:`augment_settings`."""
        return CtPCurriculum(
            target=self.augment_settings(num_patches), length=self.curriculum
        )


@dataclasses.dataclass(frozen=True)
class SyntheticActionConfig:
    """The embedded synthetic action dataset (``[...config.synthetic-action]``)."""

    classes: int = dataclasses.field(metadata=at_least(2))
    train_per_class: int = dataclasses.field(metadata=at_least(1))
    test_per_class: int = dataclasses.field(metadata=at_least(1))
    frames: int = dataclasses.field(metadata=at_least(2))
    size: int = dataclasses.field(metadata=at_least(16))
    camera_motion: bool
