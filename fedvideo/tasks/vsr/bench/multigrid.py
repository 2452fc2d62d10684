"""Multigrid + large-minibatch VSR training against the fixed-size baseline.

Both runs train the same model, from the same initial weights, on the same
synthetic clips, in one process, one after the other:

- **baseline**: every iteration at the full LR crop and clip length, batch
  ``--batch-size``, ``--iters`` iterations, cosine annealing from ``--lr``;
- **multigrid**: the schedule of Lin et al. (AAAI 2023,
  :func:`fedvideo.tasks.vsr.multigrid.multigrid`), spatial cycle outside, temporal cycle
  inside, a cosine restart at every stage, with a ``--batch-factor`` times larger
  batch, ``--iters / --batch-factor`` iterations, the learning rate scaled
  linearly with the batch and a linear warmup.

Held-out PSNR is measured at evenly spaced checkpoints of each run; evaluation
time is not training time. The figure of merit is the paper's: the wall-clock
**speedup** = baseline training seconds / multigrid training seconds until its
PSNR first comes within ``--tolerance`` dB of the baseline's final PSNR. The
stricter ``speedup_vs_baseline_reach`` divides the baseline's own seconds to that
target instead of its whole training, and ``speedup_full_run`` compares the two
complete runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from fedvideo.fl.schedules import cosine_lr, linear_scaled_lr
from fedvideo.fl.training import epoch_batches, shuffled_loader
from fedvideo.tasks.vsr.bench.step import timed_train_step
from fedvideo.tasks.vsr.data.clips import VSRTestClips, VSRTrainClips
from fedvideo.tasks.vsr.data.synthetic import synthetic_vsr_splits
from fedvideo.tasks.vsr.data.video import Video
from fedvideo.tasks.vsr.evaluation import evaluate_clips
from fedvideo.tasks.vsr.models import VSR_MODELS, build_vsr_model
from fedvideo.tasks.vsr.multigrid import MultigridPoint, multigrid, multigrid_stages
from fedvideo.utils import atomic_write, select_device, set_seed

Schedule = Callable[[int], MultigridPoint]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark (defaults: the CPU setting of docs/multigrid.md)."""
    data = parser.add_argument_group("synthetic data")
    data.add_argument("--train-videos", type=int, default=32)
    data.add_argument("--test-videos", type=int, default=4)
    data.add_argument("--video-frames", type=int, default=16)
    data.add_argument("--hr-size", type=int, default=96, help="HR frame side")
    data.add_argument("--scale", type=int, default=4)
    data.add_argument("--seed", type=int, default=0)
    base = parser.add_argument_group("baseline")
    base.add_argument("--model", default="basicvsr-tiny", choices=sorted(VSR_MODELS))
    base.add_argument("--gt-crop", type=int, default=64, help="full HR crop")
    base.add_argument("--num-frames", type=int, default=14, help="full clip length")
    base.add_argument("--batch-size", type=int, default=4)
    base.add_argument("--iters", type=int, default=1000)
    base.add_argument("--lr", type=float, default=4e-4)
    base.add_argument("--eta-min", type=float, default=1e-7)
    grid = parser.add_argument_group("multigrid")
    grid.add_argument("--batch-factor", type=int, default=2)
    grid.add_argument("--warmup-fraction", type=float, default=0.05)
    grid.add_argument("--spatial-stages", type=int, default=2)
    grid.add_argument("--temporal-stages", type=int, default=3)
    grid.add_argument("--min-lr-crop", type=int, default=8)
    grid.add_argument("--min-frames", type=int, default=6)
    run = parser.add_argument_group("measurement")
    run.add_argument("--evals", type=int, default=20, help="checkpoints per run")
    run.add_argument("--tolerance", type=float, default=0.05, help="dB")
    run.add_argument("--device", default="auto")
    run.add_argument("--threads", type=int, default=0, help="0 = torch default")
    run.add_argument(
        "--output-dir", type=Path, help="write curves.json and psnr_vs_time.png here"
    )


def checkpoints(iters: int, count: int) -> list[int]:
    """Return ``count`` evenly spaced iterations to evaluate after (last: iters)."""
    return sorted({max(1, round(iters * (k + 1) / count)) for k in range(count)})


def train_and_track(
    label: str,
    videos: Sequence[Video],
    test_videos: Sequence[Video],
    schedule: Schedule,
    iters: int,
    batch_size: int,
    args: argparse.Namespace,
    device: torch.device,
) -> dict[str, Any]:
    """Train a freshly initialised model by ``schedule``; return its PSNR curve.

    The model and the sample order come from ``args.seed``, so two calls start
    from the same weights. Only the training steps (data loading included) are
    timed. A progress line per checkpoint goes to stderr, prefixed by ``label``.
    """
    set_seed(args.seed)
    model = build_vsr_model(args.model, scale=args.scale).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    first = schedule(0)
    dataset = VSRTrainClips(
        videos,
        num_frames=first.frames,
        gt_crop=first.crop * args.scale,
        scale=args.scale,
        samples_per_video=8,
        seed=args.seed,
    )
    batches: Iterator = epoch_batches(
        shuffled_loader(dataset, batch_size, args.seed, device)
    )
    test_clips = VSRTestClips(test_videos)
    evaluate_after = set(checkpoints(iters, args.evals))
    curve = {"iteration": [], "seconds": [], "psnr": [], "lr": [], "shape": []}
    seconds = 0.0
    model.train()
    for t in range(iters):
        point = schedule(t)
        for group in optimizer.param_groups:
            group["lr"] = point.lr
        start = time.perf_counter()
        if (point.frames, point.crop * args.scale) != (
            dataset.num_frames,
            dataset.gt_crop,
        ):
            dataset.set_shape(point.frames, point.crop * args.scale)
        batch = next(batches)
        lr, hr = batch["lr"].to(device), batch["hr"].to(device)
        seconds += time.perf_counter() - start  # data loading
        seconds += timed_train_step(model, optimizer, lr, hr, device)
        if t + 1 in evaluate_after:
            scores = evaluate_clips(model, test_clips, args.scale, device)
            model.train()
            psnr = scores["psnr"]
            curve["psnr_bicubic"] = round(scores["psnr_bicubic"], 4)
            curve["iteration"].append(t + 1)
            curve["seconds"].append(round(seconds, 3))
            curve["psnr"].append(round(psnr, 4))
            curve["lr"].append(point.lr)
            curve["shape"].append([point.crop, point.frames])
            print(
                f"{label}: iteration {t + 1}/{iters}  LR crop {point.crop}  "
                f"frames {point.frames}  lr {point.lr:.2e}  PSNR {psnr:.4f} dB  "
                f"train {seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return curve


def seconds_to_reach(curve: dict[str, list], target: float) -> float | None:
    """Training seconds at the first checkpoint whose PSNR is >= ``target``."""
    for seconds, psnr in zip(curve["seconds"], curve["psnr"], strict=True):
        if psnr >= target:
            return seconds
    return None


def plot_curves(result: dict[str, Any], path: Path) -> None:
    """PSNR against training seconds for both runs, with the target line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from fedvideo.utils import atomic_savefig

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, style in (("baseline", "o-"), ("multigrid", "s-")):
        curve = result[name]["curve"]
        label = f"{name} (batch {result[name]['batch']}, {result[name]['iters']} it)"
        axis.plot(curve["seconds"], curve["psnr"], style, label=label, markersize=4)
    axis.axhline(
        result["target_psnr"],
        color="grey",
        linestyle="--",
        label=f"baseline final − {result['tolerance']} dB",
    )
    axis.set_xlabel("training wall-clock seconds")
    axis.set_ylabel("held-out PSNR (dB)")
    axis.set_title(
        f"{result['model']} on {result['device']} ({result['threads']} threads): "
        f"speedup {result['speedup']}×"
    )
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    atomic_savefig(figure, path)
    plt.close(figure)


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Train both runs and yield one result dict."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.iters % args.batch_factor:
        raise SystemExit(
            f"--iters ({args.iters}) must be a multiple of --batch-factor "
            f"({args.batch_factor})"
        )
    device = select_device(args.device)
    train, test = synthetic_vsr_splits(
        seed=args.seed,
        train_videos=args.train_videos,
        test_videos=args.test_videos,
        frames=args.video_frames,
        height=args.hr_size,
        width=args.hr_size,
        scale=args.scale,
    )
    full_crop = args.gt_crop // args.scale

    def baseline(t: int) -> MultigridPoint:
        lr = cosine_lr(t / args.iters, args.lr, args.eta_min)
        return MultigridPoint(full_crop, args.num_frames, lr)

    mg_batch = args.batch_size * args.batch_factor
    mg_iters = args.iters // args.batch_factor
    mg_lr = linear_scaled_lr(args.lr, mg_batch, args.batch_size)
    warmup_iters = round(args.warmup_fraction * mg_iters)
    grid = {
        "spatial_stages": args.spatial_stages,
        "temporal_stages": args.temporal_stages,
        "min_crop": args.min_lr_crop,
        "min_frames": args.min_frames,
    }

    def multigrid_schedule(t: int) -> MultigridPoint:
        return multigrid(
            t,
            mg_iters,
            full_crop,
            args.num_frames,
            mg_lr,
            args.eta_min,
            warmup_iters,
            **grid,
        )

    base_curve = train_and_track(
        "baseline", train, test, baseline, args.iters, args.batch_size, args, device
    )
    mg_curve = train_and_track(
        "multigrid", train, test, multigrid_schedule, mg_iters, mg_batch, args, device
    )
    target = base_curve["psnr"][-1] - args.tolerance
    reach = seconds_to_reach(mg_curve, target)
    base_reach = seconds_to_reach(base_curve, target)
    base_seconds, mg_seconds = base_curve["seconds"][-1], mg_curve["seconds"][-1]
    stages = multigrid_stages(mg_iters, full_crop, args.num_frames, **grid)
    result = {
        "benchmark": "multigrid",
        "model": args.model,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "data": {
            "train_videos": args.train_videos,
            "test_videos": args.test_videos,
            "frames": args.video_frames,
            "hr_size": args.hr_size,
            "scale": args.scale,
        },
        "baseline": {
            "batch": args.batch_size,
            "iters": args.iters,
            "lr_crop": full_crop,
            "frames": args.num_frames,
            "lr": args.lr,
            "train_seconds": base_seconds,
            "psnr": base_curve["psnr"][-1],
            "seconds_to_target": base_reach,
            "curve": base_curve,
        },
        "multigrid": {
            "batch": mg_batch,
            "iters": mg_iters,
            "lr": mg_lr,
            "warmup_iters": warmup_iters,
            "stages": [s._asdict() for s in stages],
            "train_seconds": mg_seconds,
            "psnr": mg_curve["psnr"][-1],
            "seconds_to_target": reach,
            "curve": mg_curve,
        },
        "psnr_bicubic": base_curve["psnr_bicubic"],
        "tolerance": args.tolerance,
        "target_psnr": round(target, 4),
        "psnr_gap": round(mg_curve["psnr"][-1] - base_curve["psnr"][-1], 4),
        "speedup": round(base_seconds / reach, 3) if reach else None,
        "speedup_vs_baseline_reach": round(base_reach / reach, 3) if reach else None,
        "speedup_full_run": round(base_seconds / mg_seconds, 3),
    }
    if args.output_dir:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=2)
        atomic_write(
            args.output_dir / "curves.json",
            lambda tmp: Path(tmp).write_text(text),
        )
        plot_curves(result, args.output_dir / "psnr_vs_time.png")
    for name in ("baseline", "multigrid"):
        result[name] = {k: v for k, v in result[name].items() if k != "curve"}
    yield result
