"""CtP pretraining throughput: clip preparation vs. a train step of R3D-18 + head.

Reports the median time to prepare one clip (frame reading, resize, crop,
patch pasting, normalisation) on one CPU thread, the median time of one
optimisation step on a batch, and ``data_share``: the share of a step that a
single data-loading worker would need to keep up (> 1 means the data pipeline,
not the model, limits training and more DataLoader workers are needed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import torch

from fedvideo.config import default_run_config, parse_section
from fedvideo.fl.training import autocast_for
from fedvideo.tasks.ssl.config import SSLConfig
from fedvideo.tasks.ssl.data.clips import CtPTrainClips
from fedvideo.tasks.ssl.data.synthetic import synthetic_action_splits
from fedvideo.tasks.ssl.losses import ctp_batch_loss
from fedvideo.tasks.ssl.models.ctp import CtPModel
from fedvideo.utils import peak_memory_mb, reset_peak_memory, select_device, set_seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark (defaults: the run config's ``ssl`` section)."""
    ssl = parse_section(default_run_config(), SSLConfig, "ssl")
    parser.add_argument("--crop-size", type=int, default=ssl.crop_size)
    parser.add_argument("--num-frames", type=int, default=ssl.num_frames)
    parser.add_argument("--batch-size", type=int, default=ssl.batch_size)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0 = default)"
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Measure and yield one result dict."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    set_seed(0)
    size = round(args.crop_size * 8 / 7)
    train, _ = synthetic_action_splits(
        seed=0,
        num_classes=2,
        train_per_class=4,
        test_per_class=1,
        frames=args.num_frames + 8,
        size=size,
    )
    clips = CtPTrainClips(train, args.num_frames, args.crop_size, seed=0)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a DataLoader worker runs single-threaded
    clip_ms = []
    for index in range(args.repeats + args.warmup):
        start = time.perf_counter()
        clips[index % len(clips)]
        clip_ms.append((time.perf_counter() - start) * 1e3)
    torch.set_num_threads(threads)

    model = CtPModel(num_frames=args.num_frames).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    items = [clips[i % len(clips)] for i in range(args.batch_size)]
    batch = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
    step_ms = []
    reset_peak_memory(device)
    for _ in range(args.repeats + args.warmup):
        _synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast_for(device, args.amp):
            loss, _ = ctp_batch_loss(model, batch)
        loss.backward()
        optimizer.step()
        _synchronize(device)
        step_ms.append((time.perf_counter() - start) * 1e3)

    clip_median = statistics.median(clip_ms[args.warmup :])
    step_median = statistics.median(step_ms[args.warmup :])
    yield {
        "benchmark": "ssl-step",
        "device": str(device),
        "amp": bool(args.amp and device.type == "cuda"),
        "threads": threads,
        "batch": [args.batch_size, 3, args.num_frames, args.crop_size, args.crop_size],
        "repeats": args.repeats,
        "clip_prep_ms": round(clip_median, 3),
        "step_ms": round(step_median, 3),
        "clips_per_s": round(args.batch_size / step_median * 1e3, 2),
        "data_share": round(clip_median * args.batch_size / step_median, 4),
        "peak_memory_mb": peak_memory_mb(device),  # None on the CPU
    }
