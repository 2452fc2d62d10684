"""Video super-resolution task (FedVSR): BasicVSR-family models, Charbonnier + HiFr."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pywt
import torch
import torch.nn.functional as F
from flwr.app import RecordDict
from torch import nn

from fedvideo.config import (
    ConfigError,
    FederationConfig,
    at_least,
    in_unit_interval,
    parse_section,
)
from fedvideo.data.errors import DatasetError
from fedvideo.data.frame_cache import FrameCache, cache_videos
from fedvideo.data.partition import select_partition
from fedvideo.data.synthetic_vsr import synthetic_vsr_splits
from fedvideo.data.video import Video
from fedvideo.data.vsr_dataset import VSRTestClips, VSRTrainClips
from fedvideo.data.vsr_folders import REDS4_CLIPS, discover_vsr_dataset
from fedvideo.losses import vsr_loss
from fedvideo.metrics import psnr, ssim
from fedvideo.models import VSR_MODELS, build_vsr_model, check_vsr_contract
from fedvideo.models.external import is_import_path, parse_model_kwargs
from fedvideo.schedules import (
    MultigridStage,
    cosine_lr,
    linear_scaled_lr,
    multigrid,
    multigrid_sizes,
    multigrid_stages,
    stage_at,
    warmup_factor,
)
from fedvideo.tasks.base import (
    DATA_DIR_KEY,
    ClientInfo,
    EvalResult,
    PlotSpec,
    RoundInfo,
    Task,
    TrainResult,
)
from fedvideo.tiling import tiled_forward
from fedvideo.training import (
    autocast_for,
    epoch_batches,
    shuffled_loader,
    train_steps,
)
from fedvideo.utils import set_seed

__all__ = [
    "MultigridConfig",
    "RoundPlan",
    "SyntheticConfig",
    "VSRConfig",
    "VSRTask",
    "evaluate_clips",
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
    eval_crop_border: int = dataclasses.field(metadata=at_least(0))
    eval_max_clips: int = dataclasses.field(metadata=at_least(0))
    eval_tile: str
    eval_tile_overlap: str
    reference_batch_size: int = dataclasses.field(metadata=at_least(0))
    warmup_fraction: float = dataclasses.field(metadata=in_unit_interval())
    frame_cache_mb: int = dataclasses.field(metadata=at_least(0))

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
    :func:`fedvideo.schedules.multigrid_stages`.
    """

    spatial_stages: int = dataclasses.field(metadata=at_least(1))
    temporal_stages: int = dataclasses.field(metadata=at_least(1))
    min_lr_crop: int = dataclasses.field(metadata=at_least(1))
    min_frames: int = dataclasses.field(metadata=at_least(1))


@dataclasses.dataclass(frozen=True)
class RoundPlan:
    """Shape and learning rate of one client's local training in one round."""

    gt_crop: int
    num_frames: int
    lr_at: Callable[[int], float]  # local step (0-based) -> learning rate


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
def _folder_splits(root: str, scale: int, cache_mb: int) -> VideoSplits:
    """Videos of a REDS/Vid4 root; with ``cache_mb``, decoded frames stay in memory.

    The frame cache lets a multigrid stage change (longer clips, larger crops)
    and the following epochs reuse the frames already read.
    """
    dataset = discover_vsr_dataset(root, scale=scale)
    if not cache_mb:
        return VideoSplits(dataset.train, dataset.test, dataset.eval_y_channel)
    cache = FrameCache(cache_mb * 2**20)
    return VideoSplits(
        cache_videos(dataset.train, cache),
        cache_videos(dataset.test, cache),
        dataset.eval_y_channel,
    )


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
    tile: tuple[int, int, int] | None = None,
    tile_overlap: tuple[int, int, int] = (2, 8, 8),
) -> dict[str, float]:
    """PSNR/SSIM of ``model`` and of bicubic upsampling on whole test clips.

    Scores are averaged over the frames of a clip, then over clips (the VSR
    convention); both are computed on the same frames. With ``tile`` (LR
    frames, height, width; 0 = the whole extent), each clip is super-resolved
    tile by tile with :func:`fedvideo.tiling.tiled_forward`: memory is bounded by
    one tile, overlaps of ``tile_overlap`` are blended with a raised cosine after
    discarding a quarter of the overlap at each cut edge.
    """
    model.eval()
    totals = dict.fromkeys(("psnr", "ssim", "psnr_bicubic", "ssim_bicubic"), 0.0)
    for clip in clips:
        lr, hr = clip["lr"], clip["hr"]
        with autocast_for(device, amp):
            if tile is None:
                sr = model(lr.to(device).unsqueeze(0))[0]
            else:
                sr = _tiled(model, lr, scale, tile, tile_overlap, device)
        sr = sr.float().clamp(0, 1).cpu()
        bicubic = bicubic_upsample(lr, scale)
        for prefix, pred in (("", sr), ("_bicubic", bicubic)):
            totals["psnr" + prefix] += psnr(pred, hr, crop_border, y_channel)
            totals["ssim" + prefix] += ssim(pred, hr, crop_border, y_channel)
    return {name: value / len(clips) for name, value in totals.items()}


def _tiled(
    model: nn.Module,
    lr: torch.Tensor,
    scale: int,
    tile: tuple[int, int, int],
    overlap: tuple[int, int, int],
    device: torch.device,
) -> torch.Tensor:
    """Super-resolve one (T, 3, h, w) clip tile by tile (0 = whole extent)."""
    dims = lr.shape[0], lr.shape[2], lr.shape[3]
    sizes = [size or dim for size, dim in zip(tile, dims, strict=True)]
    overlaps = [
        min(ov, size - 1) if size < dim else 0
        for ov, size, dim in zip(overlap, sizes, dims, strict=True)
    ]
    return tiled_forward(
        model,
        lr.unsqueeze(0),
        scale,
        tile=sizes,
        overlap=overlaps,
        blend="cosine",
        margin=[ov // 4 for ov in overlaps],
        device=device,
        out_device="cpu",
    )[0]


class VSRTask(Task):
    """Federated video super-resolution.

    Clients train a BasicVSR-family model on their videos with Charbonnier plus
    ``hifr-weight`` × HiFr (3D Haar DWT) loss; the server scores the global model
    on held-out clips next to bicubic upsampling.

    With the run config's ``multigrid``, training follows the multigrid schedule
    of Lin et al. (AAAI 2023): every client of a round trains the same crop size
    and clip length, taken from the round, and restarts its cosine learning rate
    at every stage (:func:`fedvideo.schedules.multigrid`). ``vsr.reference-batch-size``
    and ``vsr.warmup-fraction`` add the linear LR scaling and warmup of large
    minibatches, with or without multigrid.
    """

    name = "vsr"
    supports_multigrid = True
    plot = PlotSpec(
        title="Held-out PSNR per round",
        ylabel="PSNR (dB)",
        series=(("psnr", "global model"), ("psnr_bicubic", "bicubic")),
    )

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        super().__init__(run_config, federation)
        self.config = parse_section(run_config, VSRConfig, "vsr")
        self.synthetic = parse_section(run_config, SyntheticConfig, "synthetic")
        self.multigrid = parse_section(
            run_config, MultigridConfig, "multigrid-schedule"
        )
        if federation.multigrid:
            self._check_multigrid_rounds()

    def splits(self) -> VideoSplits:
        """Training and test videos of the configured dataset (cached per process)."""
        cfg = self.config
        if cfg.dataset == "synthetic":
            splits = _synthetic_splits(self.federation.seed, self.synthetic, cfg.scale)
        else:
            splits = _folder_splits(cfg.dataset, cfg.scale, cfg.frame_cache_mb)
        if cfg.test_dataset:
            test = _folder_splits(cfg.test_dataset, cfg.scale, cfg.frame_cache_mb)
            splits = VideoSplits(splits.train, test.test, test.eval_y_channel)
        return splits

    def build_model(self) -> nn.Module:
        """Build the configured model, seeded so every process gets the same init.

        Raises
        ------
        ConfigError
            If the model cannot be built (unknown preset, failing import of an
            external model, bad keyword arguments), naming ``vsr.model``.
        """
        set_seed(self.federation.seed)
        try:
            return build_vsr_model(
                self.config.model,
                scale=self.config.scale,
                flow_weights=self.config.flow_weights or None,
                kwargs=self.config.model_kwargs_table,
            )
        except TypeError as err:  # wrong keyword arguments for the factory
            raise ConfigError(
                f"run config 'vsr.model-kwargs': {self.config.model_kwargs!r} does "
                f"not fit {self.config.model!r}: {err}"
            ) from None
        except ValueError as err:
            raise ConfigError(f"run config 'vsr.model': {err}") from None

    def initial_model(self) -> nn.Module:
        """Build the server's starting model and check it once before round 1.

        An external model (import path) must map a training-sized clip
        ``(1, T, 3, h, w)`` to ``(1, T, 3, s·h, s·w)``. A sliding-window model
        (``sliding_window = True``, e.g. EDVR) fixes its clip length, so
        multigrid runs the spatial cycle only.

        Raises
        ------
        ConfigError
            If the contract does not hold, or multigrid asks a sliding-window
            model for a temporal cycle.
        """
        model = self.build_model()
        cfg = self.config
        if is_import_path(cfg.model):
            lr_crop = cfg.gt_crop // cfg.scale
            try:
                check_vsr_contract(model, cfg.scale, cfg.num_frames, (lr_crop, lr_crop))
            except ValueError as err:
                raise ConfigError(
                    f"run config 'vsr.model' {cfg.model!r}: {err}"
                ) from None
        temporal_cycle = self.federation.multigrid and (
            len({stage.frames for stage in self.multigrid_stages()}) > 1
        )
        if temporal_cycle and getattr(model, "sliding_window", False):
            raise ConfigError(
                f"run config 'multigrid-schedule.temporal-stages': {cfg.model!r} is a "
                "sliding-window model whose clip length the architecture fixes; "
                "set multigrid-schedule.temporal-stages = 1 (spatial cycle only)"
            )
        return model

    def _check_multigrid_rounds(self) -> None:
        cfg, mg = self.config, self.multigrid
        crops = multigrid_sizes(
            cfg.gt_crop // cfg.scale, mg.spatial_stages, mg.min_lr_crop
        )
        clips = multigrid_sizes(cfg.num_frames, mg.temporal_stages, mg.min_frames)
        stages, rounds = len(crops) * len(clips), self.federation.num_server_rounds
        if rounds < stages:
            raise ConfigError(
                f"run config 'multigrid': the schedule has {stages} stages (LR crops "
                f"{crops} x clip lengths {clips}), which needs num-server-rounds "
                f">= {stages}, got {rounds}; train more rounds or lower "
                "'multigrid-schedule.spatial-stages' / 'temporal-stages'"
            )

    def multigrid_stages(self, round_iters: int = 1) -> list[MultigridStage]:
        """List the multigrid stages of the run, ``round_iters`` iterations a round.

        With the default ``round_iters = 1``, ``start`` and ``length`` count
        rounds. Crops are LR pixels (``gt-crop / scale`` at the last stage).
        """
        cfg, mg = self.config, self.multigrid
        return multigrid_stages(
            self.federation.num_server_rounds * round_iters,
            cfg.gt_crop // cfg.scale,
            cfg.num_frames,
            spatial_stages=mg.spatial_stages,
            temporal_stages=mg.temporal_stages,
            min_crop=mg.min_lr_crop,
            min_frames=mg.min_frames,
            round_iters=round_iters,
        )

    def round_schedule(self, server_round: int) -> dict[str, float]:
        """Multigrid stage, crop and clip length of a round ({} without multigrid)."""
        if not self.federation.multigrid:
            return {}
        stages = self.multigrid_stages()
        stage = stage_at(stages, server_round - 1)
        return {
            "stage": stage.index + 1,
            "stages": len(stages),
            "lr_crop": stage.crop,
            "gt_crop": stage.crop * self.config.scale,
            "num_frames": stage.frames,
        }

    def round_plan(self, round_info: RoundInfo, steps: int) -> RoundPlan:
        """Crop, clip length and per-step learning rate of one round.

        The global iteration of local step ``s`` is ``t = (round - 1) * steps + s``
        out of ``num_rounds * steps``. The base rate is ``vsr.lr``, linearly
        scaled from ``vsr.reference-batch-size`` to ``vsr.batch-size`` when the
        reference is set, warmed up linearly over ``vsr.warmup-fraction`` of all
        iterations, then cosine-annealed to ``vsr.lr-min`` over the whole run,
        or with multigrid restarted at every stage.
        """
        cfg, mg = self.config, self.multigrid
        total = round_info.num_rounds * steps
        first = (round_info.server_round - 1) * steps
        base_lr = linear_scaled_lr(cfg.lr, cfg.batch_size, cfg.reference_batch_size)
        warmup_iters = round(cfg.warmup_fraction * total)
        if not self.federation.multigrid:

            def cosine_at(step: int) -> float:
                t = first + step
                scheduled = cosine_lr(t / total, base_lr, cfg.lr_min)
                return scheduled * warmup_factor(t, warmup_iters)

            return RoundPlan(cfg.gt_crop, cfg.num_frames, cosine_at)

        def point(step: int):
            return multigrid(
                first + step,
                total,
                cfg.gt_crop // cfg.scale,
                cfg.num_frames,
                base_lr,
                cfg.lr_min,
                warmup_iters,
                spatial_stages=mg.spatial_stages,
                temporal_stages=mg.temporal_stages,
                min_crop=mg.min_lr_crop,
                min_frames=mg.min_frames,
                round_iters=steps,
            )

        stage = point(0)
        return RoundPlan(
            stage.crop * cfg.scale, stage.frames, lambda step: point(step).lr
        )

    def client_videos(self, client: ClientInfo) -> list[Video]:
        """Return the training videos of one client.

        These are the client's partition of ``vsr.dataset``, or, when its node
        config sets ``data-dir``, every training clip of that REDS-layout folder.
        """
        if client.data_dir is not None:
            return self.local_videos(client.data_dir)
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

    def local_videos(self, data_dir: str) -> list[Video]:
        """Return the training clips of a SuperNode's own folder (``data-dir``).

        The folder is read like ``vsr.dataset`` (REDS layout; the REDS4 clips
        never train) and cached per process like it.

        Raises
        ------
        DatasetError
            If the folder is no REDS/Vid4 layout or holds no training clips,
            naming the node config key and the folder.
        """
        cfg = self.config
        try:
            train = _folder_splits(data_dir, cfg.scale, cfg.frame_cache_mb).train
        except DatasetError as err:
            raise DatasetError(f"node config '{DATA_DIR_KEY}': {err}") from None
        if not train:
            raise DatasetError(
                f"node config '{DATA_DIR_KEY}': {data_dir} has no training clips; "
                f"put them in the REDS layout (train_sharp/<clip>/*.png and "
                f"train_sharp_bicubic/X{cfg.scale}/<clip>/*.png); Vid4 folders and "
                f"the REDS4 clips {', '.join(REDS4_CLIPS)} are test data only"
            )
        return list(train)

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
        plan = self.round_plan(round_info, steps)
        dataset.set_shape(plan.num_frames, plan.gt_crop)

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
            plan.lr_at,
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
                "gt_crop": float(plan.gt_crop),
                "num_frames": float(plan.num_frames),
                "lr_start": plan.lr_at(0),
                "lr_end": plan.lr_at(steps - 1),
            },
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
            tile=self.config.eval_tile_shape,
            tile_overlap=self.config.eval_tile_overlap_shape,
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
