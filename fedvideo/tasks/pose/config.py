"""Settings of the pose task: its sections of the run config, validated once.

``[tool.flwr.app.config.pose]`` and ``[...synthetic-pose]`` of
``pyproject.toml`` hold the defaults.
"""

from __future__ import annotations

import dataclasses

from fedvideo.config import (
    ConfigError,
    at_least,
    choice,
)
from fedvideo.tasks.pose.data.partition import (
    Resolution,
    format_resolution,
    parse_resolution,
)
from fedvideo.tasks.pose.models.vitpose import (
    VITPOSE_SIZES,
)

__all__ = [
    "PoseConfig",
    "SyntheticPoseConfig",
]


def _resolutions(key: str, text: str) -> tuple[Resolution, ...]:
    try:
        return tuple(parse_resolution(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise ConfigError(f"run config '{key}': {err}") from None


@dataclasses.dataclass(frozen=True)
class PoseConfig:
    """Settings of the ``[tool.flwr.app.config.pose]`` section."""

    model: str = dataclasses.field(metadata=choice(*VITPOSE_SIZES))
    positional: str = dataclasses.field(metadata=choice("conv", "absolute"))
    pretrained: str
    dataset: str
    partitioning: str
    resolutions: str
    client_resolutions: str
    sweep_resolutions: str
    mrkd: bool
    kd_weight: float = dataclasses.field(metadata=at_least(0.0))
    batch_size: int = dataclasses.field(metadata=at_least(1))
    lr: float = dataclasses.field(metadata=at_least(0.0))
    lr_milestones: str
    weight_decay: float = dataclasses.field(metadata=at_least(0.0))
    layer_decay: float = dataclasses.field(metadata=at_least(0.0))
    drop_path: float = dataclasses.field(metadata=at_least(0.0))
    sigma: float = dataclasses.field(metadata=at_least(0.1))
    flip_test: bool
    eval_batch_size: int = dataclasses.field(metadata=at_least(1))
    eval_max_images: int = dataclasses.field(metadata=at_least(0))

    def __post_init__(self) -> None:
        """Check the resolution lists and the LR milestones."""
        trained = self.training_resolutions
        if not trained:
            raise ConfigError("run config 'pose.resolutions' must name a resolution")
        areas = [h * w for h, w in trained]
        if areas != sorted(areas, reverse=True) or len(set(trained)) != len(trained):
            raise ConfigError(
                "run config 'pose.resolutions' must list distinct resolutions from "
                f"the highest to the lowest, got {self.resolutions!r}"
            )
        unknown = set(self.native_resolutions) - set(trained)
        if unknown:
            raise ConfigError(
                "run config 'pose.client-resolutions': "
                f"{sorted(format_resolution(r) for r in unknown)} not in "
                f"'pose.resolutions' ({self.resolutions})"
            )
        # Parse the other lists once here, so that a bad one fails at start.
        _ = self.sweep, self.milestones

    @property
    def training_resolutions(self) -> tuple[Resolution, ...]:
        """``pose.resolutions``, highest first."""
        return _resolutions("pose.resolutions", self.resolutions)

    @property
    def native_resolutions(self) -> tuple[Resolution, ...]:
        """Client ``i``'s native resolution is entry ``i mod len`` of this."""
        text = self.client_resolutions or self.resolutions
        return _resolutions("pose.client-resolutions", text)

    @property
    def sweep(self) -> tuple[Resolution, ...]:
        """Resolutions of the final robustness evaluation."""
        return _resolutions("pose.sweep-resolutions", self.sweep_resolutions)

    @property
    def milestones(self) -> tuple[float, ...]:
        """Fractions of training after which the LR drops tenfold."""
        try:
            values = tuple(float(v) for v in self.lr_milestones.split(",") if v.strip())
        except ValueError:
            values = (-1.0,)
        if any(not 0.0 < v <= 1.0 for v in values):
            raise ConfigError(
                "run config 'pose.lr-milestones' must be comma-separated fractions "
                f"in (0, 1], got {self.lr_milestones!r}"
            )
        return values

    def cascade(self, native: Resolution) -> tuple[Resolution, ...]:
        """Resolutions a client trains on: native and, with MRKD, all lower."""
        trained = self.training_resolutions
        start = trained.index(native)
        return trained[start:] if self.mrkd else (native,)


@dataclasses.dataclass(frozen=True)
class SyntheticPoseConfig:
    """The embedded synthetic pose dataset (``[...config.synthetic-pose]``)."""

    train_images: int = dataclasses.field(metadata=at_least(1))
    test_images: int = dataclasses.field(metadata=at_least(1))
    image_size: int = dataclasses.field(metadata=at_least(64))
