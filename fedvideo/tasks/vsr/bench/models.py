"""Size, FLOPs per output frame and train-step time of every VSR model.

One JSON line per model: parameter count; forward FLOPs per output frame at the
given LR size, counted by ``torch.utils.flop_counter.FlopCounterMode`` (every
matmul, convolution and attention; torchvision's deformable convolution counted
as the convolution it computes); and the median time of a training step
(forward, Charbonnier + HiFr, backward, Adam) on a fixed batch.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fedvideo.tasks.vsr.bench.step import timed_train_step
from fedvideo.tasks.vsr.models import VSR_MODELS, build_vsr_model
from fedvideo.tasks.vsr.models.external import parse_model_kwargs
from fedvideo.utils import peak_memory_mb, reset_peak_memory, select_device, set_seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark."""
    parser.add_argument(
        "--models",
        nargs="+",
        default=sorted(VSR_MODELS),
        help="presets or import paths 'package.module:Factory' (default: all presets)",
    )
    parser.add_argument(
        "--model-kwargs", default="", help="TOML inline table for every model"
    )
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--num-frames", type=int, default=6)
    parser.add_argument("--lr-size", type=int, default=32, help="LR crop side")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="0 = torch default")


def _deform_conv2d_flops(
    input_shape: Any,
    weight_shape: Any,
    offset_shape: Any,
    mask_shape: Any,
    bias_shape: Any,
    *args: Any,
    out_shape: Any = None,
    **kwargs: Any,
) -> int:
    """FLOPs of torchvision's deformable convolution: those of the dense conv.

    ``2 · N · C_out · H_out · W_out · (C_in / groups) · k_h · k_w``, with the
    output size read from the offset tensor; the bilinear sampling is not counted.
    """
    batch = input_shape[0]
    out_channels, in_per_group, k_h, k_w = weight_shape
    out_h, out_w = offset_shape[-2:]
    return 2 * batch * out_channels * out_h * out_w * in_per_group * k_h * k_w


def forward_flops(model: nn.Module, clip: torch.Tensor) -> int:
    """Total forward FLOPs of ``model`` on ``clip`` (no gradients)."""
    mapping = {}
    deform = getattr(torch.ops.torchvision, "deform_conv2d", None)
    if deform is not None:
        mapping[deform] = _deform_conv2d_flops
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    with torch.no_grad(), counter:
        model(clip)
    return counter.get_total_flops()


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Measure every model and yield one result dict per model."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    kwargs = parse_model_kwargs(args.model_kwargs, "--model-kwargs")
    t, h, s = args.num_frames, args.lr_size, args.scale
    for name in args.models:
        set_seed(0)
        model = build_vsr_model(name, scale=s, kwargs=kwargs)
        params = sum(p.numel() for p in model.parameters())
        model.eval()
        flops = forward_flops(model, torch.rand(1, t, 3, h, h))
        model = model.to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
        lr = torch.rand(args.batch_size, t, 3, h, h, device=device)
        hr = torch.rand(args.batch_size, t, 3, s * h, s * h, device=device)
        reset_peak_memory(device)
        for _ in range(args.warmup):
            timed_train_step(model, optimizer, lr, hr, device)
        steps = [
            timed_train_step(model, optimizer, lr, hr, device)
            for _ in range(args.repeats)
        ]
        yield {
            "benchmark": "models",
            "model": name,
            "params": params,
            "gflops_per_frame": round(flops / t / 1e9, 4),
            "lr_size": [h, h],
            "scale": s,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "batch": [args.batch_size, t, 3, h, h],
            "repeats": args.repeats,
            "step_ms": round(1e3 * statistics.median(steps), 2),
            "peak_memory_mb": peak_memory_mb(device),  # None on the CPU
        }
