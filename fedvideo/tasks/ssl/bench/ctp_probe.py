"""Does Catch-the-Patch learn at this scale? Centralised pretraining, then retrieval.

``python -m fedvideo.bench ctp-probe`` pretrains R3D-18 with the CtP head on
the synthetic action videos, on one machine without federation, and prints
one JSON line:

* ``loss_start`` / ``loss_end``: the pretext loss of the fresh and the trained
  model (eval mode) on a fixed set of probe clips cut from the held-out videos;
* ``loss_no_motion``: the loss of predicting no motion on the same clips, the
  trivial baseline (a fresh head predicts almost exactly that);
* ``r1_random`` / ``r1_trained`` (and R@5): retrieval of the held-out videos
  among the training videos with the random and the trained backbone, the
  mean over ``--retrieval-seeds`` sets (the training videos' set and fresh
  synthetic sets of other seeds; 60 queries each by default), with the
  standard deviation and the value of each set;
* ``minutes``, the settings and whether the two targets hold:
  ``loss_end <= 0.8 * loss_no_motion`` and ``r1_trained >= r1_random + 10``.

Progress goes to the log (stderr) every ``--log-every`` steps. With
``--out-dir`` the JSON line, the per-chunk training losses and a plot of the
training loss against the no-motion loss are written there too. Training stops
early, and says so, when ``--max-minutes`` is reached.

The defaults are the CPU recipe of docs/fedvssl.md (:data:`CPU_RECIPE`);
every option's help names its official value. The ladder of settings that led
to it (crop, batch, learning rate and schedule, head initialisation, patch
speed, content and trajectory, background contrast, camera motion, pasting
probability, opacity and soft edges) and what each changed on 2 CPU cores is
in docs/fedvssl.md. ``--extra-pretrain-per-class`` pretrains on more videos
of the training stream than the retrieval gallery holds (the gallery stays
the first ``--train-per-class`` of each class). ``--fixed-batch`` trains on a
single batch: a check that the loss can fall below the no-motion baseline at
all, i.e. that the gradient reaches the backbone.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import statistics
import time
from collections.abc import Iterator, Sequence
from logging import INFO
from pathlib import Path

import torch
from flwr.common.logger import log
from torch.utils.data import DataLoader

from fedvideo.config import default_run_config, parse_section
from fedvideo.fl.schedules import cosine_lr, step_lr, warmup_factor
from fedvideo.fl.training import epoch_batches, shuffled_loader, train_steps
from fedvideo.reports.tables import line_plot
from fedvideo.tasks.ssl.config import SSLConfig, SyntheticActionConfig
from fedvideo.tasks.ssl.curriculum import CtPCurriculum, curriculum_difficulty
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.clips import CtPTrainClips
from fedvideo.tasks.ssl.data.ctp_augment import TRAJECTORIES, CtPAugmentSettings
from fedvideo.tasks.ssl.data.synthetic import synthetic_action_splits
from fedvideo.tasks.ssl.downstream import retrieval
from fedvideo.tasks.ssl.losses import ctp_batch_loss
from fedvideo.tasks.ssl.models.ctp import OFFICIAL_FC_INIT_STD, CtPModel
from fedvideo.tasks.ssl.pretext import CtPPretext
from fedvideo.utils import atomic_write, save_weights, select_device, set_seed

__all__ = ["add_arguments", "probe_loss", "run"]

#: Targets of the probe: the loss below this share of the no-motion loss ...
LOSS_TARGET_RATIO = 0.8
#: ... and retrieval R@1 this many points above the random backbone's.
R1_TARGET_GAIN = 10.0
#: Seeds of the extra retrieval sets: seed + k * this, k = 1, 2, ...
RETRIEVAL_SEED_STEP = 1000

#: The probe's defaults: the CPU recipe of docs/fedvssl.md. Synthetic videos
#: whose backgrounds move with the class's motion, pretraining on 64 per class
#: (the retrieval gallery: the first 16 of each class); one solid, opaque
#: patch moving at constant velocity (1.2 px per frame at 32 px), on
#: backgrounds whose contrast rises from flat grey to the full clip over the
#: first 40 % of the steps (the curriculum); 32-px crops, batches of 8, SGD
#: 0.01 divided by 10 for the last 15 % of the steps. Every option's help
#: names its official value.
CPU_RECIPE: dict[str, object] = {
    "video_size": 37,
    "train_per_class": 16,
    "extra_pretrain_per_class": 48,
    "camera_motion": True,
    "crop_size": 32,
    "batch_size": 8,
    "num_patches": 1,
    "steps": 1400,
    "trajectory": "constant-velocity",
    "max_speed": 4.2,
    "size_change": 0.0,
    "solid_prob": 1.0,
    "paste_prob": 1.0,
    "min_opacity": 1.0,
    "soft_edge_prob": 0.0,
    "background_contrast": 1.0,
    "curriculum": 0.4,
    "schedule": "step",
    "decay_at": [0.85],
    "probe_clips": 96,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the probe; defaults: :data:`CPU_RECIPE`, else the run config's."""
    config = default_run_config()
    ssl = parse_section(config, SSLConfig, "ssl")
    synthetic = parse_section(config, SyntheticActionConfig, "synthetic-action")
    data = parser.add_argument_group("synthetic action videos")
    data.add_argument("--classes", type=int, default=synthetic.classes)
    data.add_argument(
        "--train-per-class",
        type=int,
        default=synthetic.train_per_class,
        help="training videos per class: the retrieval gallery",
    )
    data.add_argument(
        "--extra-pretrain-per-class",
        type=int,
        help="pretrain on this many more videos per class of the training "
        "stream than the gallery holds (0: the gallery's only)",
    )
    data.add_argument(
        "--test-per-class",
        type=int,
        default=10,
        help="test videos (retrieval queries) per class and set (6 x 10 = 60)",
    )
    data.add_argument(
        "--retrieval-seeds",
        type=int,
        default=3,
        help="retrieval sets averaged: the training set's and fresh ones of "
        "other seeds",
    )
    data.add_argument("--video-frames", type=int, default=synthetic.frames)
    data.add_argument("--video-size", type=int)
    data.add_argument(
        "--camera-motion",
        action=argparse.BooleanOptionalAction,
        default=synthetic.camera_motion,
        help="the backgrounds move with the class's motion too",
    )
    train = parser.add_argument_group("pretraining")
    train.add_argument("--crop-size", type=int, help="paper: 112")
    train.add_argument("--num-frames", type=int, default=ssl.num_frames)
    train.add_argument("--num-patches", type=int, help="official: 3")
    train.add_argument(
        "--max-speed",
        type=float,
        help="patch speed, px per frame and axis at 112 px (scaled with the "
        "crop; official 3)",
    )
    train.add_argument(
        "--trajectory",
        choices=tuple(TRAJECTORIES),
        help="patch motion: the official key-frames or constant velocity",
    )
    train.add_argument(
        "--size-change",
        type=float,
        help="largest |log| size change of a patch side per frame (official 0.025)",
    )
    train.add_argument(
        "--solid-prob",
        type=float,
        help="probability a patch is a solid colour, not cut from the clip "
        "(official 0)",
    )
    train.add_argument(
        "--background-contrast",
        type=float,
        help="contrast of the clip under the patches, 0 = flat (official 1)",
    )
    train.add_argument(
        "--curriculum",
        type=float,
        help="share of the steps over which the patches move from the easy "
        "start (solid, constant velocity, flat grey background) to the "
        "settings above; 0 = none (official)",
    )
    train.add_argument(
        "--paste-prob",
        type=float,
        help="probability a patch is pasted on each further frame (official 0.8)",
    )
    train.add_argument(
        "--min-opacity",
        type=float,
        help="patch opacity drawn from [this, 1] (official 0.8; 1 = opaque)",
    )
    train.add_argument(
        "--soft-edge-prob",
        type=float,
        help="probability of a soft mask edge (official 0.5)",
    )
    train.add_argument("--batch-size", type=int, help="ssl task: 4")
    train.add_argument("--steps", type=int)
    train.add_argument("--lr", type=float, default=ssl.lr or CtPPretext.official_lr)
    train.add_argument(
        "--schedule",
        choices=("constant", "cosine", "step"),
        help="learning-rate schedule; step: x0.1 at each --decay-at",
    )
    train.add_argument(
        "--decay-at",
        type=float,
        nargs="+",
        help="share(s) of the steps after which --schedule step divides the rate by 10",
    )
    train.add_argument("--warmup-steps", type=int, default=0)
    train.add_argument("--momentum", type=float, default=ssl.momentum)
    train.add_argument("--weight-decay", type=float, default=ssl.weight_decay)
    train.add_argument("--grad-clip", type=float, default=ssl.grad_clip)
    train.add_argument(
        "--head-init-std",
        type=float,
        default=OFFICIAL_FC_INIT_STD,
        help="std of the CtP head's initial linear weights (official 0.001)",
    )
    train.add_argument(
        "--bn-momentum",
        type=float,
        default=0.1,
        help="BatchNorm running-statistics momentum (PyTorch default 0.1)",
    )
    train.add_argument(
        "--fixed-batch",
        action="store_true",
        help="train on the first batch only (a check that the model can fit it)",
    )
    parser.add_argument(
        "--probe-clips", type=int, help="held-out clips of the probe loss"
    )
    parser.add_argument("--eval-clips", type=int, default=ssl.eval_clips)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=28.0)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="0 = torch default")
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="write probe.json, a plot and the trained backbone.safetensors",
    )
    parser.set_defaults(**CPU_RECIPE)


@torch.no_grad()
def probe_loss(
    model: CtPModel, clips: Sequence[dict[str, torch.Tensor]], device: torch.device
) -> tuple[float, float]:
    """Mean pretext loss of ``model`` (eval mode) and of no motion on ``clips``.

    Parameters
    ----------
    model : CtPModel
        The model to score; left in eval mode.
    clips : Sequence[dict[str, Tensor]]
        Items of :class:`~fedvideo.tasks.ssl.data.clips.CtPTrainClips`.
    device : torch.device
        Where to run.

    Returns
    -------
    tuple[float, float]
        ``(loss, no_motion_loss)``, each averaged over the clips.
    """
    model.eval()
    loss_sum, no_motion_sum = 0.0, 0.0
    for batch in DataLoader(list(clips), batch_size=8):
        batch = {k: v.to(device) for k, v in batch.items()}
        loss, parts = ctp_batch_loss(model, batch)
        loss_sum += float(loss) * len(batch["clip"])
        no_motion_sum += parts["no_motion"] * len(batch["clip"])
    return loss_sum / len(clips), no_motion_sum / len(clips)


def _probe_clips(
    videos: Sequence[ActionVideo], args: argparse.Namespace, augment: CtPAugmentSettings
) -> list[dict[str, torch.Tensor]]:
    """``args.probe_clips`` fixed clips with patches, cycling over ``videos``."""
    clips = CtPTrainClips(
        videos, args.num_frames, args.crop_size, args.seed + 1_000_003, augment
    )
    items = []
    for index in range(args.probe_clips):
        clips.set_epoch(index // len(videos))
        items.append(clips[index % len(videos)])
    return items


def _videos(
    args: argparse.Namespace, seed: int, extra_per_class: int = 0
) -> tuple[list[ActionVideo], list[ActionVideo]]:
    """Training and test videos of the synthetic action set of ``seed``.

    ``extra_per_class`` more training videos are drawn per class; video ``i`` of
    a class depends only on the seed, the class and ``i``, so the first
    ``args.train_per_class`` of each class are the same with or without them.
    """
    return synthetic_action_splits(
        seed=seed,
        num_classes=args.classes,
        train_per_class=args.train_per_class + extra_per_class,
        test_per_class=args.test_per_class,
        frames=args.video_frames,
        size=args.video_size,
        camera_motion=args.camera_motion,
    )


def _first_per_class(videos: Sequence[ActionVideo], count: int) -> list[ActionVideo]:
    """Return the first ``count`` videos of each class, in their order."""
    taken: collections.Counter[int] = collections.Counter()
    first = []
    for video in videos:
        if taken[video.label] < count:
            taken[video.label] += 1
            first.append(video)
    return first


def _mean_recall(scores: Sequence[dict[str, float]], key: str) -> float:
    return statistics.fmean(s[key] for s in scores)


def _recall_summary(name: str, scores: Sequence[dict[str, float]]) -> dict:
    """R@1 / R@5 of one backbone: mean over the retrieval sets, std, per set."""
    summary = {}
    for key in ("R@1", "R@5"):
        values = [s[key] for s in scores]
        label = f"r{key[2:]}_{name}"
        summary[label] = round(statistics.fmean(values), 2)
        if key == "R@1":
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[f"{label}_std"] = round(std, 2)
            summary[f"{label}_per_seed"] = [round(v, 2) for v in values]
    return summary


def _learning_rate(args: argparse.Namespace, step: int) -> float:
    lr = args.lr
    progress = step / max(args.steps - 1, 1)
    if args.schedule == "cosine":
        lr = cosine_lr(progress, args.lr)
    elif args.schedule == "step":
        lr = step_lr(progress, args.lr, args.decay_at)
    return lr * warmup_factor(step, args.warmup_steps)


def _check(args: argparse.Namespace) -> None:
    for name in (
        "classes",
        "train_per_class",
        "test_per_class",
        "steps",
        "batch_size",
        "retrieval_seeds",
    ):
        if getattr(args, name) < 1:
            raise SystemExit(f"ctp-probe: --{name.replace('_', '-')} must be >= 1")
    if args.extra_pretrain_per_class < 0:
        raise SystemExit("ctp-probe: --extra-pretrain-per-class must be >= 0")
    if not all(0 < share <= 1 for share in args.decay_at):
        raise SystemExit("ctp-probe: --decay-at shares must be in (0, 1]")
    if args.num_frames < 16:
        raise SystemExit("ctp-probe: --num-frames must be >= 16 (R3D-18 + CtP head)")
    if args.video_frames < args.num_frames:
        raise SystemExit("ctp-probe: --video-frames must be >= --num-frames")
    if args.crop_size < 32:
        raise SystemExit("ctp-probe: --crop-size must be >= 32")
    # Any video size works: clips are resized to a short side of 8/7 of the crop.
    if args.video_size < 16:
        raise SystemExit("ctp-probe: --video-size must be >= 16")


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Pretrain, score and yield the one result line."""
    _check(args)
    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    # Pretraining on the gallery's videos and the extra ones of the same stream.
    pretraining_videos, test_videos = _videos(
        args, args.seed, args.extra_pretrain_per_class
    )
    train_videos = _first_per_class(pretraining_videos, args.train_per_class)
    # Retrieval on the training videos' set and on fresh sets of other seeds.
    retrieval_sets = [(train_videos, test_videos)] + [
        _videos(args, args.seed + RETRIEVAL_SEED_STEP * k)
        for k in range(1, args.retrieval_seeds)
    ]
    try:
        key_frame_probs, interpolation_probs = TRAJECTORIES[args.trajectory]
        augment = CtPAugmentSettings(
            num_patches=args.num_patches,
            max_speed=args.max_speed,
            max_log_size_change=args.size_change,
            key_frame_probs=key_frame_probs,
            interpolation_probs=interpolation_probs,
            paste_prob=args.paste_prob,
            opacity_range=(args.min_opacity, 1.0),
            soft_edge_prob=args.soft_edge_prob,
            solid_prob=args.solid_prob,
            background_contrast=args.background_contrast,
        )
        curriculum = CtPCurriculum(target=augment, length=args.curriculum)
    except ValueError as error:
        raise SystemExit(
            f"ctp-probe: bad patch setting (--num-patches, --max-speed, "
            f"--size-change, --paste-prob, --min-opacity, --soft-edge-prob, "
            f"--solid-prob, --background-contrast, --curriculum): {error}"
        ) from error
    set_seed(args.seed)
    model = CtPModel(num_frames=args.num_frames, head_init_std=args.head_init_std)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.momentum = args.bn_momentum
    model.to(device)
    random_backbone = {
        k: v.detach().cpu().clone() for k, v in model.backbone.state_dict().items()
    }

    def scores(backbone: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        return [
            retrieval(
                backbone,
                gallery,
                queries,
                args.num_frames,
                args.crop_size,
                args.eval_clips,
                device,
            )
            for gallery, queries in retrieval_sets
        ]

    probe = _probe_clips(test_videos, args, augment)
    official = CtPAugmentSettings(num_patches=args.num_patches)
    probe_official = _probe_clips(test_videos, args, official)
    loss_start, loss_no_motion = probe_loss(model, probe, device)
    log(INFO, "ctp-probe: probe loss %.4f, no motion %.4f", loss_start, loss_no_motion)
    random_scores = scores(random_backbone)

    log(INFO, "ctp-probe: pretraining on %d videos", len(pretraining_videos))
    dataset = CtPTrainClips(
        pretraining_videos, args.num_frames, args.crop_size, args.seed, augment
    )
    batches = epoch_batches(
        shuffled_loader(dataset, args.batch_size, args.seed, device)
    )
    if args.fixed_batch:
        # Sanity check: can the model fit one batch (does the gradient flow)?
        batches = itertools.repeat(next(batches))
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
    )
    curve = []
    steps_done, stopped_early = 0, False
    for offset, count in _chunks(args.steps, args.log_every):
        progress = offset / args.steps
        dataset.augment = curriculum.settings_at(progress)
        if (time.perf_counter() - started) / 60 > args.max_minutes:
            stopped_early = True
            log(INFO, "ctp-probe: --max-minutes reached after %d steps", steps_done)
            break
        result = train_steps(
            model,
            batches,
            count,
            ctp_batch_loss,
            optimizer,
            lambda step, offset=offset: _learning_rate(args, offset + step),
            device,
            log_every=count,
            description=f"ctp-probe steps {offset + 1}-{offset + count}/{args.steps}",
            grad_clip=args.grad_clip or None,
        )
        steps_done += count
        curve.append(
            {
                "step": steps_done,
                "difficulty": curriculum_difficulty(progress, args.curriculum),
                "loss": result.mean_loss,
                "no_motion": result.mean_parts["no_motion"],
            }
        )
        log(
            INFO,
            "ctp-probe: steps %d-%d: loss %.4f, no motion %.4f (ratio %.3f)",
            offset + 1,
            steps_done,
            result.mean_loss,
            result.mean_parts["no_motion"],
            result.mean_loss / result.mean_parts["no_motion"],
        )

    loss_end, _ = probe_loss(model, probe, device)
    official_end, official_no_motion = probe_loss(model, probe_official, device)
    trained = {k: v.detach().cpu() for k, v in model.backbone.state_dict().items()}
    trained_scores = scores(trained)
    line = {
        "benchmark": "ctp-probe",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "settings": {
            k: v
            for k, v in sorted(vars(args).items())
            if k not in ("benchmark", "command", "out_dir")
        },
        "steps_done": steps_done,
        "stopped_early": stopped_early,
        "loss_start": round(loss_start, 4),
        "loss_end": round(loss_end, 4),
        "loss_no_motion": round(loss_no_motion, 4),
        "loss_ratio": round(loss_end / loss_no_motion, 4),
        "loss_ratio_official": round(official_end / official_no_motion, 4),
        "train_loss_first": round(curve[0]["loss"], 4) if curve else None,
        "train_loss_last": round(curve[-1]["loss"], 4) if curve else None,
        "train_no_motion_last": round(curve[-1]["no_motion"], 4) if curve else None,
        **_recall_summary("random", random_scores),
        **_recall_summary("trained", trained_scores),
        "pretraining_videos": len(pretraining_videos),
        "queries": len(test_videos),
        "retrieval_seeds": len(retrieval_sets),
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "loss_target_met": loss_end <= LOSS_TARGET_RATIO * loss_no_motion,
        "r1_target_met": _mean_recall(trained_scores, "R@1")
        >= _mean_recall(random_scores, "R@1") + R1_TARGET_GAIN,
    }
    if args.out_dir is not None:
        _write_outputs(args.out_dir, line, curve, trained)
    yield line


def _write_outputs(
    out_dir: Path, line: dict, curve: list[dict], backbone: dict[str, torch.Tensor]
) -> None:
    """Write probe.json, the loss plot and the trained backbone.safetensors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**line, "curve": curve}, indent=2) + "\n"
    atomic_write(out_dir / "probe.json", lambda tmp: Path(tmp).write_text(text))
    save_weights(backbone, out_dir / "backbone.safetensors")
    if curve:
        steps = [c["step"] for c in curve]
        line_plot(
            {
                "training loss": (steps, [c["loss"] for c in curve]),
                "predicting no motion": (steps, [c["no_motion"] for c in curve]),
            },
            out_dir / "probe_loss.png",
            xlabel="step",
            ylabel="CtP loss (mean over the chunk)",
            title="Centralised CtP pretraining",
        )
