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
    parse_section,
)
from fedvideo.fl.client_info import ClientInfo, read_node_data
from fedvideo.fl.schedules import global_progress, step_lr
from fedvideo.fl.task import EvalResult, LocalTraining, PlotSpec, RoundInfo, Task
from fedvideo.fl.training import epoch_batches, shuffled_loader
from fedvideo.tasks.pose.config import PoseConfig, SyntheticPoseConfig
from fedvideo.tasks.pose.data.datasets import PoseRecord, PoseTrainSet
from fedvideo.tasks.pose.data.partition import (
    PoseClientPartition,
    Resolution,
    assign_pose_partitions,
    format_resolution,
    read_pose_partition_file,
)
from fedvideo.tasks.pose.data.splits import PoseSplits, load_pose_splits, mpii_train
from fedvideo.tasks.pose.evaluation import (
    evaluate_pose,
    resolution_sweep,
    write_resolution_sweep,
)
from fedvideo.tasks.pose.losses import mrkd_batch_loss
from fedvideo.tasks.pose.models.vit_weights import load_backbone_weights
from fedvideo.tasks.pose.models.vitpose import (
    build_vitpose,
    layer_decay_param_groups,
)
from fedvideo.utils import set_seed

__all__ = [
    "PoseTask",
]


class PoseTask(Task):
    """Federated top-down pose estimation with clients at different resolutions."""

    name = "pose"
    default_strategy = "fedavg"  # RAF: FedAvg with MRKD clients
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
                tuple(range(len(self.client_records(client)))),
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
        """Return the people a client's partition indexes.

        These are the training split of ``pose.dataset``, or, with a
        ``data-dir`` in the node config, that MPII-layout folder's training
        people (only ``annotations/train.json`` and its images are needed; the
        folder is read once per process).

        Raises
        ------
        DatasetError
            If the ``data-dir`` folder is no MPII layout or has no training
            people, naming the node config key and the folder.
        """
        if client.data_dir is not None:
            return read_node_data(
                client.data_dir,
                mpii_train,
                "training people (its annotations/train.json is empty)",
            )
        return self.splits().train

    def client_data(self, client: ClientInfo) -> list[PoseRecord]:
        """Return the training people of one client (its partition's samples)."""
        records = self.client_records(client)
        return [records[i] for i in self.client_partition(client).samples]

    def test_data(self) -> Sequence[PoseRecord]:
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
    def local_training(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        seed: int,
        device: torch.device,
        local_state: RecordDict,
    ) -> LocalTraining:
        """AdamW with layer decay on the client's samples at its resolutions."""
        cfg = self.config
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

        return LocalTraining(
            batches=epoch_batches(loader),
            num_steps=steps,
            num_examples=len(dataset),
            loss_fn=functools.partial(mrkd_batch_loss, kd_weight=cfg.kd_weight),
            optimizer=optimizer,
            lr_at=lr_at,
            metrics={
                "native_height": float(part.resolution[0]),
                "copies": float(len(cascade)),
            },
        )

    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """PCKh@0.5 at the client's native resolution on held-out samples."""
        part = self.client_partition(client)
        records = self.test_data()
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
            self.test_data(),
            resolutions,
            device,
            cfg.flip_test,
            cfg.eval_batch_size,
            self.federation.amp,
        )
