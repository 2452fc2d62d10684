"""Video super-resolution task (FedVSR): BasicVSR-family models, Charbonnier + HiFr."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import pywt
import torch
import torch.nn.functional as F
from flwr.app import RecordDict
from torch import nn

from fedvideo.config import ConfigError, FederationConfig, at_least, parse_section
from fedvideo.data.partition import select_partition
from fedvideo.data.synthetic_vsr import synthetic_vsr_splits
from fedvideo.data.video import Video
from fedvideo.data.vsr_dataset import VSRTestClips, VSRTrainClips
from fedvideo.data.vsr_folders import discover_vsr_dataset
from fedvideo.losses import vsr_loss
from fedvideo.metrics import psnr, ssim
from fedvideo.models import VSR_MODELS, build_vsr_model
from fedvideo.schedules import cosine_lr, global_progress
from fedvideo.tasks.base import (
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
from fedvideo.utils import set_seed

__all__ = ["SyntheticConfig", "VSRConfig", "VSRTask", "evaluate_clips"]


@dataclasses.dataclass(frozen=True)
class VSRConfig:
    """Settings of the ``[tool.flwr.app.config.vsr]`` section."""

    model: str
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
    eval_crop_border: int = dataclasses.field(metadata=at_least(0))
    eval_max_clips: int = dataclasses.field(metadata=at_least(0))

    def __post_init__(self) -> None:
        """Check values that the type alone does not settle."""
        if self.model not in VSR_MODELS:
            valid = ", ".join(sorted(VSR_MODELS))
            raise ConfigError(
                f"run config 'vsr.model': unknown model {self.model!r}; valid: {valid}"
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
class SyntheticConfig:
    """Settings of the embedded synthetic dataset (``[...config.synthetic]``)."""

    train_videos: int = dataclasses.field(metadata=at_least(1))
    test_videos: int = dataclasses.field(metadata=at_least(1))
    frames: int = dataclasses.field(metadata=at_least(2))
    height: int = dataclasses.field(metadata=at_least(8))
    width: int = dataclasses.field(metadata=at_least(8))


@dataclasses.dataclass(frozen=True)
class VideoSplits:
    """Training and held-out videos of one dataset."""

    train: Sequence[Video]
    test: Sequence[Video]
    eval_y_channel: bool


@functools.lru_cache(maxsize=4)
def _synthetic_splits(seed: int, synthetic: SyntheticConfig, scale: int) -> VideoSplits:
    train, test = synthetic_vsr_splits(
        seed=seed,
        train_videos=synthetic.train_videos,
        test_videos=synthetic.test_videos,
        frames=synthetic.frames,
        height=synthetic.height,
        width=synthetic.width,
        scale=scale,
    )
    return VideoSplits(train, test, eval_y_channel=False)


@functools.lru_cache(maxsize=4)
def _folder_splits(root: str, scale: int) -> VideoSplits:
    dataset = discover_vsr_dataset(root, scale=scale)
    return VideoSplits(dataset.train, dataset.test, dataset.eval_y_channel)


def bicubic_upsample(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upsampling of (..., C, h, w) frames, clamped to [0, 1]."""
    frames = lr.reshape(-1, *lr.shape[-3:])
    up = F.interpolate(frames, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(0, 1).reshape(*lr.shape[:-2], *up.shape[-2:])


@torch.no_grad()
def evaluate_clips(
    model: nn.Module,
    clips: VSRTestClips,
    scale: int,
    device: torch.device,
    crop_border: int = 0,
    y_channel: bool = False,
    amp: bool = False,
) -> dict[str, float]:
    """PSNR/SSIM of ``model`` and of bicubic upsampling on whole test clips.

    Scores are averaged over the frames of a clip, then over clips (the VSR
    convention); both are computed on the same frames.
    """
    model.eval()
    totals = dict.fromkeys(("psnr", "ssim", "psnr_bicubic", "ssim_bicubic"), 0.0)
    for clip in clips:
        lr, hr = clip["lr"].to(device), clip["hr"]
        with autocast_for(device, amp):
            sr = model(lr.unsqueeze(0))[0]
        sr = sr.float().clamp(0, 1).cpu()
        bicubic = bicubic_upsample(lr.cpu(), scale)
        for prefix, pred in (("", sr), ("_bicubic", bicubic)):
            totals["psnr" + prefix] += psnr(pred, hr, crop_border, y_channel)
            totals["ssim" + prefix] += ssim(pred, hr, crop_border, y_channel)
    return {name: value / len(clips) for name, value in totals.items()}


class VSRTask(Task):
    """Federated video super-resolution.

    Clients train a BasicVSR-family model on their videos with Charbonnier plus
    ``hifr-weight`` × HiFr (3D Haar DWT) loss; the server scores the global model
    on held-out clips next to bicubic upsampling.
    """

    name = "vsr"
    plot = PlotSpec(
        title="Held-out PSNR per round",
        ylabel="PSNR (dB)",
        series=(("psnr", "global model"), ("psnr_bicubic", "bicubic")),
    )

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        super().__init__(run_config, federation)
        self.config = parse_section(run_config, VSRConfig, "vsr")
        self.synthetic = parse_section(run_config, SyntheticConfig, "synthetic")

    def splits(self) -> VideoSplits:
        """Training and test videos of the configured dataset (cached per process)."""
        cfg = self.config
        if cfg.dataset == "synthetic":
            splits = _synthetic_splits(self.federation.seed, self.synthetic, cfg.scale)
        else:
            splits = _folder_splits(cfg.dataset, cfg.scale)
        if cfg.test_dataset:
            test = _folder_splits(cfg.test_dataset, cfg.scale)
            splits = VideoSplits(splits.train, test.test, test.eval_y_channel)
        return splits

    def build_model(self) -> nn.Module:
        """Build the configured model, seeded so every process gets the same init."""
        set_seed(self.federation.seed)
        return build_vsr_model(
            self.config.model,
            scale=self.config.scale,
            flow_weights=self.config.flow_weights or None,
        )

    def client_videos(self, client: ClientInfo) -> list[Video]:
        """Return the training videos of one client's partition."""
        train = self.splits().train
        if not train:
            raise ConfigError(
                f"run config 'vsr.dataset': {self.config.dataset!r} has no training "
                "videos (Vid4 is a test set; train on REDS or synthetic data)"
            )
        return select_partition(
            train,
            self.config.partitioning,
            client.partition_id,
            client.num_partitions,
            skew=self.config.skew,
        )

    def train(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        device: torch.device,
        local_state: RecordDict,
    ) -> TrainResult:
        """One round of local training; returns the mean total loss."""
        cfg, fed = self.config, self.federation
        seed = self.seed_round(client, round_info)
        dataset = VSRTrainClips(
            self.client_videos(client),
            num_frames=cfg.num_frames,
            gt_crop=cfg.gt_crop,
            scale=cfg.scale,
            samples_per_video=cfg.samples_per_video,
            seed=seed,
        )
        loader = shuffled_loader(dataset, cfg.batch_size, seed, device)
        steps = self.local_step_count(len(loader))

        def lr_at(step: int) -> float:
            progress = global_progress(
                round_info.server_round, round_info.num_rounds, step, steps
            )
            return cosine_lr(progress, cfg.lr, cfg.lr_min)

        def loss_fn(net: nn.Module, batch: Mapping[str, torch.Tensor]):
            sr = net(batch["lr"])
            return vsr_loss(sr.float(), batch["hr"], cfg.hifr_weight, cfg.wavelet)

        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        result = train_steps(
            model,
            epoch_batches(loader),
            steps,
            loss_fn,
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
            metrics=result.metrics(),
        )

    def _evaluate_videos(
        self, model: nn.Module, videos: Sequence[Video], device: torch.device, y: bool
    ) -> dict[str, float]:
        return evaluate_clips(
            model,
            VSRTestClips(videos),
            self.config.scale,
            device,
            crop_border=self.config.eval_crop_border,
            y_channel=y,
            amp=self.federation.amp,
        )

    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """Score the model on (up to two of) the client's own videos."""
        videos = self.client_videos(client)[:2]
        metrics = self._evaluate_videos(model, videos, device, y=False)
        return EvalResult(num_examples=len(videos), metrics=metrics)

    def evaluate_global(
        self, model: nn.Module, device: torch.device
    ) -> dict[str, float]:
        """Score the model and bicubic upsampling on the held-out test clips."""
        splits = self.splits()
        test = list(splits.test)
        if self.config.eval_max_clips:
            test = test[: self.config.eval_max_clips]
        if not test:
            raise ConfigError(
                f"run config 'vsr.dataset': {self.config.dataset!r} has no test clips "
                "(REDS4 or Vid4); set 'vsr.test-dataset'"
            )
        return self._evaluate_videos(model, test, device, y=splits.eval_y_channel)
