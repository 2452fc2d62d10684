"""REDS and Vid4 folders of tiny random frames, for the tests that read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_clip(
    hr_dir: Path,
    lr_dir: Path,
    frames: int = 5,
    hr_size: tuple[int, int] = (32, 32),
    lr_size: tuple[int, int] = (8, 8),
    seed: int = 0,
) -> None:
    """Write ``frames`` random PNG frames named 00000000.png ... to both folders."""
    rng = np.random.default_rng(seed)
    for folder, (h, w) in ((hr_dir, hr_size), (lr_dir, lr_size)):
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(frames):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{index:08d}.png")


def make_reds(root: Path, clips: tuple[str, ...] = ("000", "001", "011")) -> Path:
    for seed, clip in enumerate(clips):
        write_clip(
            root / "train_sharp" / clip,
            root / "train_sharp_bicubic" / "X4" / clip,
            seed=seed,
        )
    return root


def make_vid4(root: Path) -> Path:
    for seed, clip in enumerate(("calendar", "city")):
        write_clip(root / "GT" / clip, root / "BIx4" / clip, frames=3, seed=seed)
    return root
