"""Human pose estimation across resolutions (RAF): ViTPose with MRKD clients.

Every client holds person images at one native input resolution. With RAF's
multi-resolution knowledge distillation (``pose.mrkd``), a client trains on
copies of each sample at its native resolution and every lower one of
``pose.resolutions``, each copy supervised by its labels and distilled from the
next-higher copy's prediction; without it (plain FedAvg/FedProx) a client trains
at its native resolution only. The server scores the global model by PCKh at
every training resolution each round, and after the last round at many input
resolutions, seen and unseen (``pose.sweep-resolutions``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from logging import INFO
from pathlib import Path
from typing import Any

import torch
from flwr.app import RecordDict
from flwr.common.logger import log
from torch import nn

from fedvideo.config import (
    ConfigError,
    FederationConfig,
    at_least,
    choice,
    parse_section,
)
from fedvideo.data.errors import DatasetError
from fedvideo.data.mpii import load_mpii
from fedvideo.data.pose import PoseRecord, PoseTrainSet
from fedvideo.data.pose_partition import (
    PoseClientPartition,
    Resolution,
    assign_pose_partitions,
    format_resolution,
    parse_resolution,
    read_pose_partition_file,
)
from fedvideo.data.synthetic_pose import synthetic_pose_records
from fedvideo.losses import mrkd_loss
from fedvideo.models.vit_weights import load_backbone_weights
from fedvideo.models.vitpose import (
    VITPOSE_SIZES,
    build_vitpose,
    layer_decay_param_groups,
)
from fedvideo.pose_evaluation import (
    evaluate_pose,
    resolution_sweep,
    write_resolution_sweep,
)
from fedvideo.schedules import global_progress, step_lr
from fedvideo.tasks.base import (
    DATA_DIR_KEY,
    ClientInfo,
    EvalResult,
    PlotSpec,
    RoundInfo,
    Task,
    TrainResult,
)
from fedvideo.training import epoch_batches, shuffled_loader, train_steps
from fedvideo.utils import set_seed

__all__ = [
    "PoseConfig",
    "PoseSplits",
    "PoseTask",
    "SyntheticPoseConfig",
    "load_pose_splits",
    "mrkd_batch_loss",
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
def _mpii_train(root: str) -> list[PoseRecord]:
    return load_mpii(root, "train")


def load_pose_splits(
    dataset: str, seed: int, synthetic: SyntheticPoseConfig
) -> PoseSplits:
    """Load ``"synthetic"`` or an MPII root; cached per process."""
    if dataset == "synthetic":
        return _synthetic_splits(seed, synthetic)
    return _mpii_splits(dataset)


def mrkd_batch_loss(
    model: nn.Module, batch: Mapping[str, Any], kd_weight: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """MRKD loss of ``model`` on a batch of multi-resolution copies (high first)."""
    outputs = [model(images) for images in batch["images"]]
    return mrkd_loss(outputs, batch["targets"], batch["weights"], kd_weight)


class PoseTask(Task):
    """Federated top-down pose estimation with clients at different resolutions."""

    name = "pose"
    plot = PlotSpec(
        title="PCKh@0.5 of the global model per round",
        ylabel="PCKh@0.5 (%)",
        series=(),
    )

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        super().__init__(run_config, federation)
        self.config = parse_section(run_config, PoseConfig, "pose")
        self.synthetic = parse_section(
            run_config, SyntheticPoseConfig, "synthetic-pose"
        )
        self.plot = PlotSpec(
            title=PoseTask.plot.title,
            ylabel=PoseTask.plot.ylabel,
            series=tuple(
                (f"PCKh@0.5 {format_resolution(r)}", format_resolution(r))
                for r in self.config.training_resolutions
            ),
        )

    # ------------------------------------------------------------------ data
    def splits(self) -> PoseSplits:
        """Return the samples of ``pose.dataset``."""
        return load_pose_splits(
            self.config.dataset, self.federation.seed, self.synthetic
        )

    def client_partition(self, client: ClientInfo) -> PoseClientPartition:
        """Return the client's resolution and samples (``pose.partitioning``).

        The samples index :meth:`client_records`. With a ``data-dir`` in the
        node config they are all of that folder's training people, at the
        native resolution of ``pose.client-resolutions`` entry partition-id mod n.
        """
        cfg = self.config
        if client.data_dir is not None:
            natives = cfg.native_resolutions
            return PoseClientPartition(
                natives[client.partition_id % len(natives)],
                tuple(range(len(self.local_records(client.data_dir)))),
            )
        train = self.splits().train
        if cfg.partitioning == "iid":
            natives = cfg.native_resolutions
            resolutions = [
                natives[i % len(natives)] for i in range(client.num_partitions)
            ]
            parts = assign_pose_partitions(
                len(train), resolutions, seed=self.federation.seed
            )
        else:
            parts = read_pose_partition_file(cfg.partitioning)
            if len(parts) != client.num_partitions:
                raise ConfigError(
                    f"run config 'pose.partitioning': {cfg.partitioning} has "
                    f"{len(parts)} clients, the federation has {client.num_partitions}"
                )
        part = parts[client.partition_id]
        if part.resolution not in cfg.training_resolutions:
            raise ConfigError(
                f"pose partition of client {client.partition_id}: resolution "
                f"{format_resolution(part.resolution)} is not in 'pose.resolutions'"
            )
        if part.samples and max(part.samples) >= len(train):
            raise ConfigError(
                f"pose partition of client {client.partition_id} indexes sample "
                f"{max(part.samples)}, the training split has {len(train)}"
            )
        return part

    def client_records(self, client: ClientInfo) -> Sequence[PoseRecord]:
        """Training people a client's partition indexes (its ``data-dir``'s, if set)."""
        if client.data_dir is not None:
            return self.local_records(client.data_dir)
        return self.splits().train

    def local_records(self, data_dir: str) -> Sequence[PoseRecord]:
        """Training people of a SuperNode's own MPII-layout folder (``data-dir``).

        Only ``annotations/train.json`` and its images are needed; the folder
        is read once per process.

        Raises
        ------
        DatasetError
            If the folder is no MPII layout or has no training people, naming
            the node config key and the folder.
        """
        try:
            records = _mpii_train(data_dir)
        except DatasetError as err:
            raise DatasetError(f"node config '{DATA_DIR_KEY}': {err}") from None
        if not records:
            raise DatasetError(
                f"node config '{DATA_DIR_KEY}': {data_dir} has no training people "
                "(its annotations/train.json is empty)"
            )
        return records

    def test_records(self) -> Sequence[PoseRecord]:
        """Held-out samples (the first ``pose.eval-max-images`` if > 0)."""
        test = self.splits().test
        limit = self.config.eval_max_images
        return test[:limit] if limit else test

    # ----------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        """ViTPose, seeded so every process starts from the same weights."""
        cfg = self.config
        set_seed(self.federation.seed)
        return build_vitpose(cfg.model, cfg.positional, drop_path=cfg.drop_path)

    def initial_model(self) -> nn.Module:
        """Build the server's starting model, with ``pose.pretrained`` loaded."""
        cfg = self.config
        model = self.build_model()
        if cfg.pretrained:
            report = load_backbone_weights(model, cfg.pretrained)
            log(
                INFO,
                "pose: backbone weights from %s\n%s",
                cfg.pretrained,
                report.summary(),
            )
        return model

    # -------------------------------------------------------------- training
    def train(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        device: torch.device,
        local_state: RecordDict,
    ) -> TrainResult:
        """One round on the client's samples at its cascade of resolutions."""
        cfg, fed = self.config, self.federation
        seed = self.seed_round(client, round_info)
        part = self.client_partition(client)
        train = self.client_records(client)
        cascade = cfg.cascade(part.resolution)
        dataset = PoseTrainSet(
            [train[i] for i in part.samples],
            cascade,
            model.heatmap_size,
            seed,
            augment=True,
            sigma=cfg.sigma,
        )
        loader = shuffled_loader(dataset, cfg.batch_size, seed, device)
        steps = self.local_step_count(len(loader))
        optimizer = torch.optim.AdamW(
            layer_decay_param_groups(model, cfg.lr, cfg.weight_decay, cfg.layer_decay)
        )

        def lr_at(step: int) -> float:
            progress = global_progress(
                round_info.server_round, round_info.num_rounds, step, steps
            )
            return step_lr(progress, cfg.lr, cfg.milestones)

        result = train_steps(
            model,
            epoch_batches(loader),
            steps,
            functools.partial(mrkd_batch_loss, kd_weight=cfg.kd_weight),
            optimizer,
            lr_at,
            device,
            amp=fed.amp,
            log_every=fed.log_every,
            description=self.progress_label(client, round_info),
            proximal=self.proximal_term(model, round_info),
        )
        return TrainResult(
            num_examples=len(dataset),
            train_loss=result.mean_loss,
            metrics={
                **result.metrics(),
                "native_height": float(part.resolution[0]),
                "copies": float(len(cascade)),
            },
        )

    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """PCKh@0.5 at the client's native resolution on held-out samples."""
        part = self.client_partition(client)
        records = self.test_records()
        scores = evaluate_pose(
            model,
            records,
            part.resolution,
            device,
            self.config.flip_test,
            self.config.eval_batch_size,
            self.federation.amp,
        )
        return EvalResult(
            num_examples=len(records),
            metrics={"PCKh@0.5": scores["PCKh@0.5"]["mean"]},
        )

    def evaluate_global(
        self, model: nn.Module, device: torch.device
    ) -> dict[str, float]:
        """Mean PCKh@0.5 and @0.1 at every training resolution."""
        sweep = self._sweep(model, self.config.training_resolutions, device)
        return {
            f"{metric} {name}": scores["mean"]
            for name, result in sweep.items()
            for metric, scores in result.items()
        }

    def final_evaluation(
        self, model: nn.Module, device: torch.device, run_dir: Path
    ) -> dict[str, float]:
        """Run the robustness sweep; per-joint scores and a plot go to ``run_dir``."""
        sweep = self._sweep(model, self.config.sweep, device)
        json_path, plot_path = write_resolution_sweep(
            sweep, run_dir, self.config.training_resolutions
        )
        log(INFO, "pose: resolution sweep in %s and %s", json_path, plot_path)
        return {
            f"sweep {metric} {name}": scores["mean"]
            for name, result in sweep.items()
            for metric, scores in result.items()
        }

    def _sweep(
        self, model: nn.Module, resolutions: Sequence[Resolution], device: torch.device
    ) -> dict[str, dict[str, Any]]:
        cfg = self.config
        return resolution_sweep(
            model,
            self.test_records(),
            resolutions,
            device,
            cfg.flip_test,
            cfg.eval_batch_size,
            self.federation.amp,
        )
