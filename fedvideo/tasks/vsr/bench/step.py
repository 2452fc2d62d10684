"""Train-step time of a VSR model with Charbonnier alone and with Charbonnier + HiFr.

Both variants run in one process on the same model, data and device, interleaved
repeat by repeat so that machine noise hits them alike; the reported times are
medians. ``hifr_overhead`` = median ratio of the paired steps − 1.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import torch

from fedvideo.config import default_run_config, parse_section
from fedvideo.tasks.vsr.config import VSRConfig
from fedvideo.tasks.vsr.losses import vsr_loss
from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.utils import select_device, set_seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark (defaults: the run config's ``vsr`` section)."""
    vsr = parse_section(default_run_config(), VSRConfig, "vsr")
    parser.add_argument("--model", default=vsr.model)
    parser.add_argument("--batch-size", type=int, default=vsr.batch_size)
    parser.add_argument("--num-frames", type=int, default=vsr.num_frames)
    parser.add_argument("--gt-crop", type=int, default=vsr.gt_crop)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0 = default)"
    )


def timed_train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    lr: torch.Tensor,
    hr: torch.Tensor,
    device: torch.device,
    hifr_weight: float = 1.0,
) -> float:
    """Run one VSR training step and return its wall seconds.

    Forward, Charbonnier + ``hifr_weight`` × HiFr, backward and the optimiser
    step, with CUDA synchronised before and after so the time is the step's.
    """
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss, _ = vsr_loss(model(lr), hr, hifr_weight=hifr_weight)
    loss.backward()
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _step_ms(model, optimizer, lr, hr, hifr_weight: float, device) -> float:
    return 1e3 * timed_train_step(model, optimizer, lr, hr, device, hifr_weight)


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Measure and yield one result dict."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    set_seed(0)
    scale = 4
    model = build_vsr_model(args.model, scale=scale).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
    lr_size = args.gt_crop // scale
    lr = torch.rand(
        args.batch_size, args.num_frames, 3, lr_size, lr_size, device=device
    )
    hr = torch.rand(
        args.batch_size, args.num_frames, 3, args.gt_crop, args.gt_crop, device=device
    )

    for _ in range(args.warmup):
        for weight in (0.0, 1.0):
            _step_ms(model, optimizer, lr, hr, weight, device)
    plain, hifr, ratios = [], [], []
    for repeat in range(args.repeats):
        order = (0.0, 1.0) if repeat % 2 == 0 else (1.0, 0.0)
        times = {w: _step_ms(model, optimizer, lr, hr, w, device) for w in order}
        plain.append(times[0.0])
        hifr.append(times[1.0])
        ratios.append(times[1.0] / times[0.0])
    yield {
        "benchmark": "vsr-step",
        "model": args.model,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch": [args.batch_size, args.num_frames, 3, lr_size, lr_size],
        "repeats": args.repeats,
        "step_ms_charbonnier": round(statistics.median(plain), 3),
        "step_ms_charbonnier_hifr": round(statistics.median(hifr), 3),
        "hifr_overhead": round(statistics.median(ratios) - 1.0, 4),
    }
