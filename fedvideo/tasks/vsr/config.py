"""Settings of the vsr task: its sections of the run config, validated once.

``[tool.flwr.app.config.vsr]``, ``[...multigrid-schedule]`` and
``[...synthetic]`` of ``pyproject.toml`` hold the defaults.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pywt

from fedvideo.config import (
    ConfigError,
    at_least,
    in_unit_interval,
)
from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.corruption import (
    Corruption,
    parse_bad_clients,
    parse_corruption,
)
from fedvideo.tasks.vsr.data.synthetic import SyntheticDomain, parse_domains
from fedvideo.tasks.vsr.models import VSR_MODELS
from fedvideo.tasks.vsr.models.external import is_import_path, parse_model_kwargs

__all__ = [
    "MultigridConfig",
    "SyntheticConfig",
    "VSRConfig",
    "tile_triple",
]


@dataclasses.dataclass(frozen=True)
class VSRConfig:
    """Settings of the ``[tool.flwr.app.config.vsr]`` section."""

    model: str
    model_kwargs: str
    dataset: str
    partitioning: str
    skew: float = dataclasses.field(metadata=at_least(0.0))
    test_dataset: str
    scale: int = dataclasses.field(metadata=at_least(2))
    gt_crop: int = dataclasses.field(metadata=at_least(8))
    num_frames: int = dataclasses.field(metadata=at_least(2))
    batch_size: int = dataclasses.field(metadata=at_least(1))
    lr: float = dataclasses.field(metadata=at_least(0.0))
    lr_min: float = dataclasses.field(metadata=at_least(0.0))
    samples_per_video: int = dataclasses.field(metadata=at_least(1))
    hifr_weight: float = dataclasses.field(metadata=at_least(0.0))
    wavelet: str
    flow_weights: str
    pretrained: str
    eval_crop_border: int = dataclasses.field(metadata=at_least(0))
    lpips_weights: str
    export_frames: bool
    eval_max_clips: int = dataclasses.field(metadata=at_least(0))
    eval_tile: str
    eval_tile_overlap: str
    reference_batch_size: int = dataclasses.field(metadata=at_least(0))
    warmup_fraction: float = dataclasses.field(metadata=in_unit_interval())
    frame_cache_mb: int = dataclasses.field(metadata=at_least(0))
    video_max_frames: int = dataclasses.field(metadata=at_least(1))
    bad_clients: str
    bad_corruption: str

    @property
    def bad_client_ids(self) -> frozenset[int]:
        """``bad-clients`` parsed: the partitions whose training pairs are corrupted."""
        return parse_bad_clients(self.bad_clients)

    @property
    def corruption(self) -> Corruption:
        """``bad-corruption`` parsed: what happens to a bad client's HR frames."""
        return parse_corruption(self.bad_corruption)

    @property
    def model_kwargs_table(self) -> dict[str, Any]:
        """``model-kwargs`` parsed into keyword arguments."""
        try:
            return parse_model_kwargs(self.model_kwargs)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    @property
    def eval_tile_shape(self) -> tuple[int, int, int] | None:
        """``eval-tile`` as (frames, height, width), or None (no tiling)."""
        return tile_triple(self.eval_tile, "vsr.eval-tile")

    @property
    def eval_tile_overlap_shape(self) -> tuple[int, int, int]:
        """``eval-tile-overlap`` as (frames, height, width); "" is no overlap."""
        return tile_triple(self.eval_tile_overlap, "vsr.eval-tile-overlap") or (0, 0, 0)

    def __post_init__(self) -> None:
        """Check values that the type alone does not settle."""
        # Parse the text settings now, so that a bad value fails at start.
        _ = self.eval_tile_shape, self.eval_tile_overlap_shape, self.model_kwargs_table
        _ = self.bad_client_ids, self.corruption
        if self.warmup_fraction >= 1.0:
            raise ConfigError(
                f"run config 'vsr.warmup-fraction' ({self.warmup_fraction}) must be "
                "< 1: the warmup is a share of all training iterations"
            )
        if self.model not in VSR_MODELS and not is_import_path(self.model):
            valid = ", ".join(sorted(VSR_MODELS))
            raise ConfigError(
                f"run config 'vsr.model': unknown model {self.model!r}; valid: "
                f"{valid}, or an import path 'package.module:Factory'"
            )
        if self.gt_crop % self.scale:
            raise ConfigError(
                f"run config 'vsr.gt-crop' ({self.gt_crop}) must be a multiple of "
                f"'vsr.scale' ({self.scale})"
            )
        if self.wavelet not in pywt.wavelist(kind="discrete"):
            raise ConfigError(
                f"run config 'vsr.wavelet': {self.wavelet!r} is not a discrete "
                "PyWavelets wavelet (e.g. 'haar', 'db2')"
            )


@dataclasses.dataclass(frozen=True)
class MultigridConfig:
    """Settings of ``[tool.flwr.app.config.multigrid-schedule]``.

    Used when the top-level ``multigrid`` is on; see
    :func:`fedvideo.tasks.vsr.multigrid.multigrid_stages`.
    """

    spatial_stages: int = dataclasses.field(metadata=at_least(1))
    temporal_stages: int = dataclasses.field(metadata=at_least(1))
    min_lr_crop: int = dataclasses.field(metadata=at_least(1))
    min_frames: int = dataclasses.field(metadata=at_least(1))


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Settings of the embedded synthetic dataset (``[...config.synthetic]``)."""

    train_videos: int = dataclasses.field(metadata=at_least(1))
    test_videos: int = dataclasses.field(metadata=at_least(1))
    frames: int = dataclasses.field(metadata=at_least(2))
    height: int = dataclasses.field(metadata=at_least(8))
    width: int = dataclasses.field(metadata=at_least(8))
    domains: str

    @property
    def domain_list(self) -> tuple[SyntheticDomain, ...]:
        """``domains`` parsed: the families the clips are drawn from, in turn."""
        try:
            return parse_domains(self.domains)
        except DatasetError as err:
            raise ConfigError(f"run config {err}") from None

    def __post_init__(self) -> None:
        """Check the domain names now, so that a bad one fails at start."""
        _ = self.domain_list


def tile_triple(text: str, key: str) -> tuple[int, int, int] | None:
    """Parse ``"frames,height,width"`` (LR units) of a tiling setting; "" = None.

    Raises
    ------
    ConfigError
        Naming ``key`` unless the text is empty or three integers >= 0.
    """
    if not text.strip():
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 0:
        raise ConfigError(
            f"run config '{key}': {text!r} is not 'frames,height,width' "
            "(three integers >= 0, LR frames and pixels)"
        )
    return values  # type: ignore[return-value]
