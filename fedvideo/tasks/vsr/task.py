"""Video super-resolution task (FedVSR): BasicVSR-family models, Charbonnier + HiFr."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
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
from fedvideo.data.partition import partition_iid, select_partition
from fedvideo.fl.client_info import ClientInfo, read_node_data
from fedvideo.fl.schedules import cosine_lr, linear_scaled_lr, warmup_factor
from fedvideo.fl.task import EvalResult, LocalTraining, PlotSpec, RoundInfo, Task
from fedvideo.fl.training import epoch_batches, shuffled_loader
from fedvideo.tasks.vsr.config import MultigridConfig, SyntheticConfig, VSRConfig
from fedvideo.tasks.vsr.data.clips import VSRTestClips, VSRTrainClips
from fedvideo.tasks.vsr.data.corruption import CorruptedVideo
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS
from fedvideo.tasks.vsr.data.splits import VideoSplits, folder_splits, synthetic_splits
from fedvideo.tasks.vsr.data.synthetic import domain_of
from fedvideo.tasks.vsr.data.video import Video
from fedvideo.tasks.vsr.evaluation import evaluate_clips
from fedvideo.tasks.vsr.export import export_frames
from fedvideo.tasks.vsr.losses import vsr_loss
from fedvideo.tasks.vsr.models import build_vsr_model, check_vsr_contract
from fedvideo.tasks.vsr.models.external import is_import_path
from fedvideo.tasks.vsr.models.pretrained import load_vsr_weights
from fedvideo.tasks.vsr.multigrid import (
    MultigridStage,
    multigrid,
    multigrid_sizes,
    multigrid_stages,
    stage_at,
)
from fedvideo.tasks.vsr.perceptual import LPIPS, load_lpips
from fedvideo.utils import set_seed

__all__ = [
    "RoundPlan",
    "VSRTask",
]


@dataclasses.dataclass(frozen=True)
class RoundPlan:
    """Shape and learning rate of one client's local training in one round."""

    gt_crop: int
    num_frames: int
    lr_at: Callable[[int], float]  # local step (0-based) -> learning rate


class VSRTask(Task):
    """Federated video super-resolution.

    Clients train a BasicVSR-family model on their videos with Charbonnier plus
    ``hifr-weight`` × HiFr (3D Haar DWT) loss; the server scores the global model
    on held-out clips next to bicubic upsampling.

    With the run config's ``multigrid``, training follows the multigrid schedule
    of Lin et al. (AAAI 2023): every client of a round trains the same crop size
    and clip length, taken from the round, and restarts its cosine learning rate
    at every stage (:func:`fedvideo.tasks.vsr.multigrid.multigrid`).
    ``vsr.reference-batch-size`` and ``vsr.warmup-fraction`` add the linear LR
    scaling and warmup of large minibatches, with or without multigrid.
    """

    name = "vsr"
    default_strategy = "fedvsr"  # FedVSR
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
        self._lpips: LPIPS | None = None  # loaded on first use
        #: Bicubic scores of the held-out clips by name, from the first evaluation.
        self._bicubic_scores: dict[str, dict[str, float]] = {}
        if federation.multigrid:
            self._check_multigrid_rounds()
        if self.config.partitioning == "by-domain" and len(self.domains()) < 2:
            raise ConfigError(
                "run config 'vsr.partitioning': 'by-domain' needs the synthetic "
                "dataset with several 'synthetic.domains', e.g. "
                '"smooth,fine,fast,degraded"'
            )

    def splits(self) -> VideoSplits:
        """Training and test videos of the configured dataset (cached per process)."""
        cfg = self.config
        if cfg.dataset == "synthetic":
            splits = synthetic_splits(self.federation.seed, self.synthetic, cfg.scale)
        else:
            splits = folder_splits(
                cfg.dataset, cfg.scale, cfg.frame_cache_mb, cfg.video_max_frames
            )
        if cfg.test_dataset:
            test = folder_splits(
                cfg.test_dataset, cfg.scale, cfg.frame_cache_mb, cfg.video_max_frames
            )
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
        multigrid runs the spatial cycle only. ``vsr.pretrained`` is loaded
        here, so round 0 reports the pretrained model's scores.

        Raises
        ------
        ConfigError
            If the contract does not hold, multigrid asks a sliding-window
            model for a temporal cycle, or the ``vsr.pretrained`` file is
            missing or does not fit the model.
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
        if cfg.pretrained:
            self._load_pretrained(model)
        self._perceptual(torch.device("cpu"))  # a bad vsr.lpips-weights fails now
        return model

    def _load_pretrained(self, model: nn.Module) -> None:
        """Load ``vsr.pretrained`` into the starting model and log every key."""
        cfg = self.config
        try:
            report = load_vsr_weights(model, cfg.pretrained)
        except (FileNotFoundError, ValueError) as err:
            raise ConfigError(
                f"run config 'vsr.pretrained' (model {cfg.model!r}): {err}"
            ) from None
        log(INFO, "vsr: weights from %s\n%s", cfg.pretrained, report.summary())

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

    def client_data(self, client: ClientInfo) -> list[Video]:
        """Return the training videos of one client.

        These are the client's partition of ``vsr.dataset``, or, when its node
        config sets ``data-dir``, every training clip of that REDS-layout folder
        (read like ``vsr.dataset``; the REDS4 clips never train).

        Raises
        ------
        DatasetError
            If the ``data-dir`` folder is no REDS/Vid4 layout or holds no
            training clips, naming the node config key and the folder.
        """
        cfg = self.config
        if client.data_dir is not None:
            return read_node_data(
                client.data_dir,
                lambda folder: (
                    folder_splits(folder, cfg.scale, cfg.frame_cache_mb).train
                ),
                "training clips; put them in the REDS layout "
                "(train_sharp/<clip>/*.png and "
                f"train_sharp_bicubic/X{cfg.scale}/<clip>/*.png); Vid4 folders and "
                f"the REDS4 clips {', '.join(REDS4_CLIPS)} are test data only",
            )
        train = self.splits().train
        if not train:
            raise ConfigError(
                f"run config 'vsr.dataset': {cfg.dataset!r} has no training "
                "videos (Vid4 is a test set; train on REDS or synthetic data)"
            )
        if cfg.partitioning == "by-domain":
            return self._domain_partition(train, client)
        return select_partition(
            train,
            cfg.partitioning,
            client.partition_id,
            client.num_partitions,
            skew=cfg.skew,
        )

    def domains(self) -> tuple[str, ...]:
        """Return the synthetic domains of the run (none for folder datasets)."""
        if self.config.dataset != "synthetic":
            return ()
        return tuple(domain.name for domain in self.synthetic.domain_list)

    def _domain_partition(
        self, train: Sequence[Video], client: ClientInfo
    ) -> list[Video]:
        """Client ``i`` holds domain ``i mod n``, split among its domain's clients."""
        domains = self.domains()
        index, count = client.partition_id, client.num_partitions
        domain = domains[index % len(domains)]
        peers = list(range(index % len(domains), count, len(domains)))
        videos = [video for video in train if domain_of(video.name) == domain]
        chunks = partition_iid(len(videos), len(peers))
        return [videos[i] for i in chunks[peers.index(index)]]

    def test_data(self) -> list[Video]:
        """Return the held-out clips (the first ``vsr.eval-max-clips`` if > 0).

        Raises
        ------
        ConfigError
            If the dataset has no test clips.
        """
        test = list(self.splits().test)
        if self.config.eval_max_clips:
            test = test[: self.config.eval_max_clips]
        if not test:
            raise ConfigError(
                f"run config 'vsr.dataset': {self.config.dataset!r} has no test clips "
                "(REDS4 or Vid4); set 'vsr.test-dataset'"
            )
        return test

    def local_training(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        seed: int,
        device: torch.device,
        local_state: RecordDict,
    ) -> LocalTraining:
        """Adam on Charbonnier + HiFr, at the round's crop, clip length and LR.

        A client of ``vsr.bad-clients`` trains on corrupted pairs
        (:mod:`~fedvideo.tasks.vsr.data.corruption`) and reports
        ``bad_client`` = 1.
        """
        cfg = self.config
        videos = self.client_data(client)
        bad = client.partition_id in cfg.bad_client_ids
        if bad:
            videos = [CorruptedVideo(video, cfg.corruption) for video in videos]
        dataset = VSRTrainClips(
            videos,
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

        return LocalTraining(
            batches=epoch_batches(loader),
            num_steps=steps,
            num_examples=len(dataset),
            loss_fn=loss_fn,
            optimizer=torch.optim.Adam(
                model.parameters(), lr=cfg.lr, betas=(0.9, 0.99)
            ),
            lr_at=plan.lr_at,
            metrics={
                "gt_crop": float(plan.gt_crop),
                "num_frames": float(plan.num_frames),
                "lr_start": plan.lr_at(0),
                "lr_end": plan.lr_at(steps - 1),
                "bad_client": float(bad),
            },
        )

    def _perceptual(self, device: torch.device) -> LPIPS | None:
        """Return the LPIPS network of ``vsr.lpips-weights`` (loaded once), or None.

        Raises
        ------
        ConfigError
            If the file is missing or holds no LPIPS weights, naming the setting.
        """
        path = self.config.lpips_weights
        if not path:
            return None
        if self._lpips is None:
            try:
                self._lpips, report = load_lpips(path)
            except (FileNotFoundError, ValueError) as err:
                raise ConfigError(f"run config 'vsr.lpips-weights': {err}") from None
            log(
                INFO,
                "vsr: LPIPS weights from %s (%d tensors)",
                path,
                len(report.loaded),
            )
        return self._lpips.to(device)

    def _evaluate_videos(
        self,
        model: nn.Module,
        videos: Sequence[Video],
        device: torch.device,
        y: bool,
        groups: Sequence[str] | None = None,
        perceptual: LPIPS | None = None,
        bicubic_scores: dict[str, dict[str, float]] | None = None,
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
            groups=groups,
            perceptual=perceptual,
            bicubic_scores=bicubic_scores,
        )

    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """Score the model on (up to two of) the client's own videos."""
        videos = self.client_data(client)[:2]
        metrics = self._evaluate_videos(model, videos, device, y=False)
        return EvalResult(num_examples=len(videos), metrics=metrics)

    def final_evaluation(
        self, model: nn.Module, device: torch.device, run_dir: Path
    ) -> dict[str, float]:
        """With ``vsr.export-frames``, write the test frames as PNG for VMAF.

        The SR, ground-truth and bicubic frames of every held-out clip go to
        ``run_dir/frames/<clip>/{sr,gt,bicubic}/``, for FFmpeg's libvmaf
        (:mod:`fedvideo.tasks.vsr.export`).
        """
        cfg = self.config
        if not cfg.export_frames:
            return {}
        count = export_frames(
            model,
            VSRTestClips(self.test_data()),
            cfg.scale,
            device,
            run_dir / "frames",
            amp=self.federation.amp,
            tile=cfg.eval_tile_shape,
            tile_overlap=cfg.eval_tile_overlap_shape,
        )
        return {"exported_frames": float(count)}

    def evaluate_global(
        self, model: nn.Module, device: torch.device
    ) -> dict[str, float]:
        """Score the model and bicubic upsampling on the held-out test clips.

        LPIPS (``vsr.lpips-weights``) is a server-side metric: only this
        evaluation loads its weights, never a client's. The bicubic scores are
        computed at the first evaluation and reused at every later one.
        """
        test = self.test_data()
        several = len(self.domains()) > 1
        groups = [domain_of(video.name) for video in test] if several else None
        return self._evaluate_videos(
            model,
            test,
            device,
            y=self.splits().eval_y_channel,
            groups=groups,
            perceptual=self._perceptual(device),
            bicubic_scores=self._bicubic_scores,
        )
