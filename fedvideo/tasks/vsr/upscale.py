"""``fedvideo upscale``: super-resolve a video file with a trained VSR model.

::

    fedvideo upscale in.mp4 out.mp4 --model outputs/<run>/model.pt
    fedvideo upscale in.mp4 out.mp4 --model model.pt --evaluate

The model's architecture, keyword arguments and scale come from the run folder
of ``model.pt`` (its ``results.json``); ``--arch``, ``--model-kwargs`` and
``--scale`` override them or stand in for a bare state_dict. Frames are
super-resolved tile by tile (:func:`~fedvideo.tasks.vsr.tiling.tiled_forward`),
so memory stays bounded on long and large videos. With ``--evaluate`` the input
is first downscaled by the scale (bicubic, the BI protocol) and the output is
scored against the input, next to bicubic upsampling.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from logging import INFO
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.common.logger import log
from torch import nn

from fedvideo.config import ConfigError, default_run_config
from fedvideo.data.decode import read_video, write_video
from fedvideo.fl.resume import model_mismatch
from fedvideo.fl.training import autocast_for
from fedvideo.tasks.vsr.config import tile_triple
from fedvideo.tasks.vsr.data.degradation import bicubic_downsample
from fedvideo.tasks.vsr.data.video_files import crop_to_multiple
from fedvideo.tasks.vsr.evaluation import bicubic_upsample
from fedvideo.tasks.vsr.metrics import psnr, ssim
from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.tasks.vsr.models.external import parse_model_kwargs
from fedvideo.tasks.vsr.tiling import tiled_forward
from fedvideo.utils import (
    CommandError,
    atomic_write,
    load_weights,
    select_device,
)

__all__ = ["ModelSpec", "add_arguments", "load_model", "model_spec", "run", "upscale"]


@dataclass(frozen=True)
class ModelSpec:
    """Which VSR model a ``model.pt`` holds."""

    arch: str
    kwargs: str
    scale: int
    source: str  # where the spec came from, for messages


def model_spec(
    model_path: Path,
    arch: str | None = None,
    kwargs: str | None = None,
    scale: int | None = None,
) -> ModelSpec:
    """Read the model's run config beside ``model_path``; arguments override it.

    Without a ``results.json`` beside the file, the run config's defaults
    (``vsr.model``, ``vsr.model-kwargs``, ``vsr.scale``) fill what is not given.
    """
    results = model_path.parent / "results.json"
    if results.is_file():
        config = json.loads(results.read_text()).get("config", {})
        source = str(results)
    else:
        config = default_run_config()
        source = "the run config's defaults"
    return ModelSpec(
        arch=arch or str(config.get("vsr.model", "basicvsr-tiny")),
        kwargs=kwargs
        if kwargs is not None
        else str(config.get("vsr.model-kwargs", "")),
        scale=scale or int(config.get("vsr.scale", 4)),
        source=source,
    )


def load_model(model_path: Path, spec: ModelSpec) -> nn.Module:
    """Build ``spec``'s model and load ``model_path`` into it, in eval mode.

    Raises
    ------
    CommandError
        If the file is missing or unreadable, the architecture cannot be
        built, or the weights do not fit it; the message names the file and
        the architecture.
    """
    if not model_path.is_file():
        raise CommandError(f"--model: {model_path} does not exist")
    try:
        model = build_vsr_model(
            spec.arch, scale=spec.scale, kwargs=parse_model_kwargs(spec.kwargs)
        )
    except (ValueError, TypeError, ConfigError) as err:
        raise CommandError(
            f"cannot build model {spec.arch!r} (from {spec.source}): {err}"
        ) from None
    try:
        state = load_weights(model_path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a usage error
        raise CommandError(f"--model: cannot read {model_path}: {err}") from None
    mismatch = model_mismatch(state, model.state_dict())
    if mismatch:
        raise CommandError(
            f"--model: {model_path} does not fit {spec.arch!r} at scale "
            f"{spec.scale} (from {spec.source}): {mismatch}; set --arch, "
            "--model-kwargs or --scale"
        )
    model.load_state_dict(state)
    return model.eval()


def upscale(
    model: nn.Module,
    lr: np.ndarray,
    scale: int,
    device: torch.device,
    tile: tuple[int, int, int] = (16, 0, 0),
    overlap: tuple[int, int, int] = (2, 8, 8),
    amp: bool = True,
) -> np.ndarray:
    """Super-resolve uint8 frames ``(T, h, w, 3)`` into ``(T, s·h, s·w, 3)``.

    ``tile`` (frames, rows, columns; 0 = the whole extent) bounds memory;
    overlapping tiles are blended with a raised cosine. A progress line is
    logged every tenth of the tiles.
    """
    lrs = torch.from_numpy(lr).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    dims = lrs.shape[1], lrs.shape[3], lrs.shape[4]
    sizes = [size or dim for size, dim in zip(tile, dims, strict=True)]
    overlaps = [
        min(ov, size - 1) if size < dim else 0
        for ov, size, dim in zip(overlap, sizes, dims, strict=True)
    ]
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(total // 10, 1) == 0:
            log(
                INFO,
                "upscale: %d/%d tiles, %.1f s",
                done,
                total,
                time.perf_counter() - start,
            )

    with autocast_for(device, amp):
        sr = tiled_forward(
            model.to(device),
            lrs,
            scale,
            tile=sizes,
            overlap=overlaps,
            blend="cosine",
            margin=[ov // 4 for ov in overlaps],
            device=device,
            out_device="cpu",
            progress=progress,
        )[0]
    frames = sr.float().clamp(0, 1).mul(255).round().byte()
    return frames.permute(0, 2, 3, 1).contiguous().numpy()


def scores(sr: np.ndarray, lr: np.ndarray, hr: np.ndarray, scale: int) -> dict:
    """PSNR/SSIM (RGB and Y) of ``sr`` and of bicubic upsampling against ``hr``."""

    def tensor(frames: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)

    bicubic = bicubic_upsample(tensor(lr), scale)
    result: dict[str, float] = {}
    for name, pred in (("model", tensor(sr)), ("bicubic", bicubic)):
        for y in (False, True):
            suffix = "_y" if y else ""
            result[f"psnr{suffix} {name}"] = psnr(pred, tensor(hr), 0, y)
            result[f"ssim{suffix} {name}"] = ssim(pred, tensor(hr), 0, y)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo upscale``."""
    parser.add_argument("input", type=Path, help="video file to super-resolve")
    parser.add_argument("output", type=Path, help="video file to write (.mp4, .mkv)")
    parser.add_argument(
        "--model",
        type=Path,
        required=True,
        help="model.pt or model.safetensors of a vsr run (its results.json names "
        "the architecture)",
    )
    parser.add_argument("--arch", help="VSR preset or 'package.module:Factory'")
    parser.add_argument("--model-kwargs", help="the model's keyword arguments (TOML)")
    parser.add_argument("--scale", type=int, help="upscaling factor of the model")
    parser.add_argument("--max-frames", type=int, help="only the first frames")
    parser.add_argument(
        "--tile",
        default="16,0,0",
        help="tile 'frames,height,width' in input pixels (0 = whole extent)",
    )
    parser.add_argument("--tile-overlap", default="2,8,8", help="overlap of tiles")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="downscale the input first (bicubic) and score the output against it",
    )
    parser.add_argument("--json", type=Path, help="write the scores as JSON here")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def run(args: argparse.Namespace) -> int:
    """Super-resolve ``input`` into ``output``; with ``--evaluate`` print scores."""
    try:
        tile = tile_triple(args.tile, "--tile") or (0, 0, 0)
        overlap = tile_triple(args.tile_overlap, "--tile-overlap") or (0, 0, 0)
    except ConfigError as err:
        raise CommandError(str(err).replace("run config ", "")) from None
    spec = model_spec(args.model, args.arch, args.model_kwargs, args.scale)
    model = load_model(args.model, spec)
    device = select_device(args.device)
    video = read_video(args.input, args.max_frames)
    frames, scale = video.frames, spec.scale
    hr = None
    if args.evaluate:
        hr = np.ascontiguousarray(crop_to_multiple(frames, scale))
        if 0 in hr.shape[1:3]:
            raise CommandError(f"{args.input} is smaller than the scale {scale}")
        frames = bicubic_downsample(hr, scale)
    t, h, w = frames.shape[:3]
    log(
        INFO,
        "upscale: %s, %d frames %dx%d -> %dx%d with %s",
        args.input,
        t,
        h,
        w,
        scale * h,
        scale * w,
        spec.arch,
    )
    sr = upscale(model, frames, scale, device, tile, overlap)
    write_video(args.output, iter(sr), video.fps)
    log(INFO, "upscale: wrote %s", args.output)
    result: dict[str, Any] = {"frames": t, "output": str(args.output)}
    if hr is not None:
        result |= scores(sr, frames, hr, scale)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0
