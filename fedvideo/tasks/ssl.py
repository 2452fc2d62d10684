"""Self-supervised video pretraining task (FedVSSL): Catch-the-Patch on R3D-18.

Clients pretrain an R3D-18 backbone by tracking patches pasted into their
unlabelled clips. Only the backbone is federated: each client keeps its own
trajectory head in its Flower context state between rounds (``ssl.share-head``
federates it too). The server scores the global backbone by nearest-neighbour
retrieval, and at the end of a run optionally by fine-tuning.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, RecordDict
from torch import nn
from torch.utils.data import DataLoader

from fedvideo.config import ConfigError, FederationConfig, at_least, parse_section
from fedvideo.data.action_datasets import load_prepared_action_dataset
from fedvideo.data.action_video import ActionVideo
from fedvideo.data.ctp_augment import CtPAugmentSettings
from fedvideo.data.errors import DatasetError
from fedvideo.data.partition import partition_iid_shuffled, select_partition
from fedvideo.data.ssl_clips import CtPTrainClips
from fedvideo.data.synthetic_action import synthetic_action_splits
from fedvideo.downstream import FinetuneSettings, finetune, retrieval
from fedvideo.losses import ctp_trajectory_loss
from fedvideo.models.ctp import CtPModel
from fedvideo.tasks.base import (
    DATA_DIR_KEY,
    ClientInfo,
    EvalResult,
    PlotSpec,
    RoundInfo,
    Task,
    TrainResult,
)
from fedvideo.training import (
    autocast_for,
    epoch_batches,
    shuffled_loader,
    train_steps,
)
from fedvideo.utils import derive_seed, set_seed

__all__ = [
    "ActionSplits",
    "SSLConfig",
    "SSLTask",
    "SyntheticActionConfig",
    "ctp_batch_loss",
    "load_action_splits",
]

#: Context-state key of a client's own CtP head.
HEAD_STATE_KEY = "ctp-head"
BACKBONE_PREFIX = "backbone."


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
    )
    return ActionSplits(train, test, synthetic.classes)


@functools.lru_cache(maxsize=4)
def _prepared_splits(root: str) -> ActionSplits:
    dataset = load_prepared_action_dataset(root)
    return ActionSplits(dataset.train, dataset.test, len(dataset.classes))


def load_action_splits(
    dataset: str, seed: int, synthetic: SyntheticActionConfig
) -> ActionSplits:
    """Videos of ``"synthetic"`` or of a folder prepared by ``dataset_preparation.py``.

    Loaded once per process and cached.
    """
    if dataset == "synthetic":
        return _synthetic_splits(seed, synthetic)
    return _prepared_splits(dataset)


def ctp_batch_loss(
    model: nn.Module, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """CtP trajectory loss of ``model`` on a batch of ``{"clip", "boxes"}``."""
    boxes = batch["boxes"]
    deltas = model(batch["clip"], boxes[:, :, 0])
    return ctp_trajectory_loss(deltas.float(), boxes)


class SSLTask(Task):
    """Federated Catch-the-Patch pretraining of an R3D-18 backbone."""

    name = "ssl"
    plot = PlotSpec(
        title="Retrieval of the global backbone per round",
        ylabel="recall (%)",
        series=(("R@1", "R@1"), ("R@5", "R@5")),
    )

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        super().__init__(run_config, federation)
        self.config = parse_section(run_config, SSLConfig, "ssl")
        self.synthetic = parse_section(
            run_config, SyntheticActionConfig, "synthetic-action"
        )
        self.augment = CtPAugmentSettings(num_patches=self.config.num_patches)

    # ------------------------------------------------------------------ data
    def splits(self) -> ActionSplits:
        """Videos of the pretraining dataset."""
        cfg, seed = self.config, self.federation.seed
        return load_action_splits(cfg.dataset, seed, self.synthetic)

    def eval_splits(self) -> ActionSplits:
        """Videos of the downstream dataset (the pretraining one by default)."""
        name = self.config.eval_dataset or self.config.dataset
        return load_action_splits(name, self.federation.seed, self.synthetic)

    def client_videos(self, client: ClientInfo) -> list[ActionVideo]:
        """Training videos of one client's partition (``ssl.partitioning``).

        When the client's node config sets ``data-dir``, they are every
        training video of that prepared folder instead.
        """
        if client.data_dir is not None:
            return self.local_videos(client.data_dir)
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
            train, self.config.partitioning, client.partition_id, client.num_partitions
        )

    def local_videos(self, data_dir: str) -> list[ActionVideo]:
        """Training videos of a SuperNode's own prepared folder (``data-dir``).

        The folder has the layout of ``dataset_preparation.py ssl`` (labels are
        not used for pretraining); it is loaded once per process.

        Raises
        ------
        DatasetError
            If the folder is no prepared dataset or has no training videos,
            naming the node config key and the folder.
        """
        try:
            train = _prepared_splits(data_dir).train
        except DatasetError as err:
            raise DatasetError(f"node config '{DATA_DIR_KEY}': {err}") from None
        if not train:
            raise DatasetError(
                f"node config '{DATA_DIR_KEY}': {data_dir} has no training videos "
                "(its annotations/train.json is empty)"
            )
        return list(train)

    # ----------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        """CtP model, seeded so every process starts from the same weights."""
        set_seed(self.federation.seed)
        return CtPModel(num_frames=self.config.num_frames)

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

    def _restore_head(self, model: CtPModel, local_state: RecordDict) -> None:
        if not self.config.share_head and HEAD_STATE_KEY in local_state:
            head = local_state[HEAD_STATE_KEY].to_torch_state_dict()
            model.head.load_state_dict(head, strict=True)

    def _keep_head(self, model: CtPModel, local_state: RecordDict) -> None:
        if not self.config.share_head:
            head = {k: v.detach().cpu() for k, v in model.head.state_dict().items()}
            local_state[HEAD_STATE_KEY] = ArrayRecord(head)

    # -------------------------------------------------------------- training
    def _clips(self, videos: Sequence[ActionVideo], seed: int) -> CtPTrainClips:
        cfg = self.config
        return CtPTrainClips(videos, cfg.num_frames, cfg.crop_size, seed, self.augment)

    def train(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        device: torch.device,
        local_state: RecordDict,
    ) -> TrainResult:
        """One round of CtP pretraining; the client's head persists locally."""
        cfg, fed = self.config, self.federation
        self._restore_head(model, local_state)
        seed = self.seed_round(client, round_info)
        dataset = self._clips(self.client_videos(client), seed)
        loader = shuffled_loader(dataset, cfg.batch_size, seed, device)
        steps = self.local_step_count(len(loader))
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        result = train_steps(
            model,
            epoch_batches(loader),
            steps,
            ctp_batch_loss,
            optimizer,
            lambda step: cfg.lr,
            device,
            amp=fed.amp,
            log_every=fed.log_every,
            description=self.progress_label(client, round_info),
            proximal=self.proximal_term(model, round_info),
            grad_clip=cfg.grad_clip or None,
        )
        self._keep_head(model, local_state)
        return TrainResult(
            num_examples=len(dataset),
            train_loss=result.mean_loss,
            metrics=result.metrics(),
        )

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """Pretext loss on (up to eight of) the client's own videos."""
        videos = self.client_videos(client)[:8]
        dataset = self._clips(videos, derive_seed(self.federation.seed, -1))
        loader = DataLoader(dataset, batch_size=self.config.batch_size)
        model.eval()
        total, parts_total = 0.0, {"center": 0.0, "size": 0.0}
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast_for(device, self.federation.amp):
                loss, parts = ctp_batch_loss(model, batch)
            count = len(batch["clip"])
            total += float(loss) * count
            for name in parts_total:
                parts_total[name] += parts[name] * count
        metrics = {"pretext_loss": total / len(dataset)}
        metrics |= {f"loss_{k}": v / len(dataset) for k, v in parts_total.items()}
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
