"""Self-supervised video pretraining task (FedVSSL) on R3D-18.

Clients pretrain an R3D-18 backbone on their unlabelled clips with a pretext
task (``ssl.pretext``: Catch-the-Patch by default, or VCOP or Speed; see
:mod:`fedvideo.tasks.ssl.pretext`). Only the backbone is federated: each client
keeps its own pretext head in its Flower context state between rounds
(``ssl.share-head`` federates it too). The server scores the global backbone
by nearest-neighbour retrieval, and at the end of a run optionally by
fine-tuning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, RecordDict
from torch import nn
from torch.utils.data import DataLoader

from fedvideo.config import ConfigError, FederationConfig, parse_section
from fedvideo.data.partition import partition_iid_shuffled, select_partition
from fedvideo.fl.client_info import ClientInfo, read_node_data
from fedvideo.fl.schedules import global_progress, step_lr
from fedvideo.fl.task import EvalResult, LocalTraining, PlotSpec, RoundInfo, Task
from fedvideo.fl.training import autocast_for, epoch_batches, shuffled_loader
from fedvideo.tasks.ssl.config import CtPConfig, SSLConfig, SyntheticActionConfig
from fedvideo.tasks.ssl.curriculum import round_progress
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.splits import (
    ActionSplits,
    load_action_splits,
    prepared_splits,
)
from fedvideo.tasks.ssl.downstream import FinetuneSettings, finetune, retrieval
from fedvideo.tasks.ssl.pretext import build_pretext
from fedvideo.utils import derive_seed, set_seed

__all__ = [
    "BACKBONE_PREFIX",
    "SSLTask",
]


BACKBONE_PREFIX = "backbone."


class SSLTask(Task):
    """Federated self-supervised pretraining of an R3D-18 backbone."""

    name = "ssl"
    default_strategy = "swa-mixed"  # FedVSSL with alpha 0.9, beta 1
    plot = PlotSpec(
        title="Retrieval of the global backbone per round",
        ylabel="recall (%)",
        series=(("R@1", "R@1"), ("R@5", "R@5")),
        loss_references=(("no_motion", "predicting no motion"),),
    )

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        super().__init__(run_config, federation)
        self.config = parse_section(run_config, SSLConfig, "ssl")
        self.synthetic = parse_section(
            run_config, SyntheticActionConfig, "synthetic-action"
        )
        self.pretext = build_pretext(
            self.config, parse_section(run_config, CtPConfig, "ssl.ctp")
        )
        #: Context-state key of a client's own pretext head.
        self.head_state_key = f"{self.pretext.name}-head"
        self.plot = PlotSpec(
            title=SSLTask.plot.title,
            ylabel=SSLTask.plot.ylabel,
            series=SSLTask.plot.series,
            loss_references=self.pretext.references,
        )
        self._check_video_length()

    def _check_video_length(self) -> None:
        needed = self.pretext.frames_needed()
        if self.config.dataset == "synthetic" and self.synthetic.frames < needed:
            raise ConfigError(
                f"run config 'synthetic-action.frames': ssl.pretext = "
                f"{self.pretext.name!r} with {self.config.num_frames}-frame clips "
                f"needs videos of >= {needed} frames, got {self.synthetic.frames}"
            )

    # ------------------------------------------------------------------ data
    def splits(self) -> ActionSplits:
        """Videos of the pretraining dataset."""
        cfg, seed = self.config, self.federation.seed
        return load_action_splits(cfg.dataset, seed, self.synthetic)

    def eval_splits(self) -> ActionSplits:
        """Videos of the downstream dataset (the pretraining one by default)."""
        name = self.config.eval_dataset or self.config.dataset
        return load_action_splits(name, self.federation.seed, self.synthetic)

    def client_data(self, client: ClientInfo) -> list[ActionVideo]:
        """Training videos of one client's partition (``ssl.partitioning``).

        When the client's node config sets ``data-dir``, they are every
        training video of that folder, prepared by ``fedvideo prepare ssl``
        (labels are not used for pretraining) and loaded once per process.

        Raises
        ------
        DatasetError
            If the ``data-dir`` folder is no prepared dataset or has no
            training videos, naming the node config key and the folder.
        """
        if client.data_dir is not None:
            return read_node_data(
                client.data_dir,
                lambda folder: prepared_splits(folder).train,
                "training videos (its annotations/train.json is empty)",
            )
        train = self.splits().train
        if not train:
            raise ConfigError(
                f"run config 'ssl.dataset': {self.config.dataset!r} has no training "
                "videos"
            )
        if self.config.partitioning == "iid":
            chunks = partition_iid_shuffled(
                len(train), client.num_partitions, self.federation.seed
            )
            return [train[i] for i in chunks[client.partition_id]]
        return select_partition(
            train,
            self.config.partitioning,
            client.partition_id,
            client.num_partitions,
            key="ssl.partitioning",
        )

    def test_data(self) -> Sequence[ActionVideo]:
        """Test videos of the downstream dataset (the retrieval queries)."""
        return self.eval_splits().test

    # ----------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        """Pretext model, seeded so every process starts from the same weights."""
        set_seed(self.federation.seed)
        return self.pretext.build_model()

    def _is_global(self, key: str) -> bool:
        return self.config.share_head or key.startswith(BACKBONE_PREFIX)

    def global_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Return the backbone's tensors (and the head's with ``ssl.share-head``)."""
        return {k: v for k, v in model.state_dict().items() if self._is_global(k)}

    def load_global_state(
        self, model: nn.Module, state: Mapping[str, torch.Tensor]
    ) -> None:
        """Load federated tensors; the head keeps its weights unless shared.

        Raises
        ------
        ValueError
            If ``state`` is not exactly the federated part of the model.
        """
        expected = set(self.global_state(model))
        if set(state) != expected:
            missing = sorted(expected - set(state))[:3]
            extra = sorted(set(state) - expected)[:3]
            raise ValueError(
                f"global state does not fit the ssl model: missing {missing}, "
                f"unexpected {extra}"
            )
        model.load_state_dict(dict(state), strict=False)

    def export_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Return the backbone in torchvision's ``r3d_18`` layout (no ``fc``)."""
        return {k: v.detach().cpu() for k, v in model.backbone.state_dict().items()}

    def _restore_head(self, model: nn.Module, local_state: RecordDict) -> None:
        if not self.config.share_head and self.head_state_key in local_state:
            head = local_state[self.head_state_key].to_torch_state_dict()
            model.head.load_state_dict(head, strict=True)

    def _keep_head(self, model: nn.Module, local_state: RecordDict) -> None:
        if not self.config.share_head:
            head = {k: v.detach().cpu() for k, v in model.head.state_dict().items()}
            local_state[self.head_state_key] = ArrayRecord(head)

    def local_training(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        seed: int,
        device: torch.device,
        local_state: RecordDict,
    ) -> LocalTraining:
        """Pretext training with SGD; the client's own head persists locally.

        The round's share of training done sets the CtP curriculum's
        difficulty, so the clients need no state for it.
        """
        cfg = self.config
        self._restore_head(model, local_state)
        progress = round_progress(round_info.server_round, round_info.num_rounds)
        dataset = self.pretext.train_clips(self.client_data(client), seed, progress)
        loader = shuffled_loader(dataset, cfg.batch_size, seed, device)
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=self.pretext.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        num_steps = self.local_step_count(len(loader))
        return LocalTraining(
            batches=epoch_batches(loader),
            num_steps=num_steps,
            num_examples=len(dataset),
            loss_fn=self.pretext.loss_fn,
            optimizer=optimizer,
            lr_at=lambda step: self.learning_rate(round_info, step, num_steps),
            grad_clip=cfg.grad_clip or None,
            metrics=self.pretext.round_metrics(progress),
            finish=lambda: self._keep_head(model, local_state),
        )

    def learning_rate(self, round_info: RoundInfo, step: int, num_steps: int) -> float:
        """Return the pretext's rate, ÷ 10 after ``ssl.lr-decay-at`` of all training.

        Progress counts rounds and the local steps within one, so clients need
        no state for the schedule; ``ssl.lr-decay-at = 0`` keeps the rate constant.
        """
        if not self.config.lr_decay_at:
            return self.pretext.lr
        progress = global_progress(
            round_info.server_round, round_info.num_rounds, step, num_steps
        )
        return step_lr(progress, self.pretext.lr, (self.config.lr_decay_at,))

    def resume_warning(self) -> str | None:
        """Warn that the clients' own pretext heads do not survive a resume."""
        if self.config.share_head:
            return None
        return (
            f"the clients' own {self.pretext.name} heads (ssl.share-head = false) "
            "live in their Flower context state, not in the server checkpoint: "
            "after the resume they restart from their initial weights"
        )

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """Pretext loss on (up to eight of) the client's own videos.

        The examples are those of the end of training (the CtP curriculum's
        target). Beside ``pretext_loss`` come the pretext's trivial
        baselines on the same examples: ``pretext_loss_no_motion`` for CtP
        (predicting no motion), ``pretext_loss_uniform`` and
        ``pretext_chance_accuracy`` for VCOP and Speed, with their
        ``pretext_accuracy``. The backbone has learned something only where
        the loss is below its baseline.
        """
        videos = self.client_data(client)[:8]
        # Round 0 never trains: the same examples in every evaluation.
        seed = derive_seed(self.federation.seed, client.partition_id, 0)
        dataset = self.pretext.train_clips(videos, seed, progress=1.0)
        loader = DataLoader(dataset, batch_size=self.config.batch_size)
        model.eval()
        total, parts_total = 0.0, dict.fromkeys(self.pretext.eval_metrics, 0.0)
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast_for(device, self.federation.amp):
                loss, parts = self.pretext.loss_fn(model, batch)
            count = len(batch["label" if "label" in batch else "boxes"])
            total += float(loss) * count
            for name in parts_total:
                parts_total[name] += parts[name] * count
        metrics = {"pretext_loss": total / len(dataset)}
        for name, metric in self.pretext.eval_metrics.items():
            metrics[metric] = parts_total[name] / len(dataset)
        return EvalResult(num_examples=len(dataset), metrics=metrics)

    def evaluate_global(
        self, model: nn.Module, device: torch.device
    ) -> dict[str, float]:
        """Score the global backbone by retrieval R@k on the downstream dataset."""
        cfg = self.config
        splits = self.eval_splits()
        if not splits.train or not splits.test:
            raise ConfigError(
                "run config 'ssl.eval-dataset': retrieval needs training and test "
                f"videos, {cfg.eval_dataset or cfg.dataset!r} has "
                f"{len(splits.train)} and {len(splits.test)}"
            )
        return retrieval(
            self.export_state(model),
            splits.train,
            splits.test,
            cfg.num_frames,
            cfg.crop_size,
            cfg.eval_clips,
            device,
            amp=self.federation.amp,
        )

    def final_evaluation(
        self, model: nn.Module, device: torch.device, run_dir: Path
    ) -> dict[str, float]:
        """Fine-tuning top-1/top-5 when ``ssl.finetune-epochs`` > 0."""
        cfg = self.config
        if cfg.finetune_epochs == 0:
            return {}
        splits = self.eval_splits()
        settings = FinetuneSettings(
            epochs=cfg.finetune_epochs,
            lr=cfg.finetune_lr,
            batch_size=cfg.finetune_batch_size,
            seed=self.federation.seed,
            # Synthetic classes include mirrored motions (left/right, cw/ccw).
            flip=(cfg.eval_dataset or cfg.dataset) != "synthetic",
        )
        return finetune(
            self.export_state(model),
            splits.train,
            splits.test,
            splits.num_classes,
            cfg.num_frames,
            cfg.crop_size,
            cfg.eval_clips,
            device,
            settings,
            amp=self.federation.amp,
        )
