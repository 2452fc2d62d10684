"""Embedded synthetic video super-resolution data (no download needed).

Each clip is rendered at high resolution (HR) from a seeded
:class:`numpy.random.Generator`, so the same seed gives bit-identical arrays:

* **Background**: a canvas larger than the frame, filled with coloured 1/f
  ("pink") noise (a luminance field plus two weaker chroma fields, spectral
  exponent drawn per clip), on which hard-edged shapes are painted: rotated
  rectangles, ellipses, thin 1-3 px lines, square-wave stripe patches and
  checkerboards (periods of 4-16 HR px). The edges, lines and stripes put real
  detail above the LR Nyquist frequency that bicubic upsampling cannot restore.
* **Camera motion**: the frame is a window sliding over the canvas with an
  integer HR velocity of 0-3 px/frame per axis (never zero on both), which is a
  sub-pixel motion in LR terms; in half of the clips the velocity changes by up
  to 1 px/frame per axis part-way through (a slow drift change).
* **Moving objects**: 2-4 textured sprites (windows of the clip's pink noise
  with their own colours and contrast, half of them overlaid with fine
  square-wave stripes of period 3-8 HR px) with anti-aliased elliptical or hard
  rectangular masks, each moving with its own integer velocity of up to
  4 px/frame per axis, independently of the camera.

The LR clip is the documented :func:`bicubic_downsample` of the stored uint8 HR
clip. :func:`write_synthetic_reds` writes such clips to disk in the REDS layout
so that the real-data loaders can be exercised end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from fedvideo.data.errors import (
    DatasetError,
    require_empty_folder,
    require_int,
    seed_sequence,
)
from fedvideo.tasks.vsr.data.degradation import bicubic_downsample
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS, reds_lr_folder
from fedvideo.tasks.vsr.data.video import InMemoryVideo

__all__ = [
    "DOMAINS",
    "SyntheticDomain",
    "degrade",
    "domain_of",
    "parse_domains",
    "make_synthetic_videos",
    "render_hr_clip",
    "synthetic_vsr_splits",
    "write_synthetic_reds",
]


@dataclass(frozen=True)
class SyntheticDomain:
    """A family of synthetic clips: what the HR content is and how LR is made.

    The default values are the ``mixed`` family, the generator's original
    content. Ranges are ``(low, high)`` of a uniform draw per clip or shape.

    Attributes
    ----------
    name : str
        The domain's name in ``synthetic.domains`` and in per-domain metrics.
    exponent : tuple[float, float]
        Spectral exponent of the 1/f noise (higher: smoother texture).
    contrast : tuple[float, float]
        Contrast of the background texture, in grey levels.
    shapes : tuple[int, int]
        Hard-edged shapes per frame area (before scaling to the canvas).
    shape_kinds : tuple[float, ...]
        Probabilities of rectangle, ellipse, thin line, stripes, checkerboard.
    half_period : tuple[float, float]
        Half-period of stripes and checkerboards, in HR pixels.
    camera_step, object_step : int
        Largest camera and object speed, HR pixels per frame and axis.
    sprite_contrast : tuple[float, float]
        Contrast of the moving objects' texture.
    sprite_stripes : float
        Share of moving objects overlaid with fine stripes.
    stripe_period : tuple[float, float]
        Period of those stripes, in HR pixels.
    blur : float
        Gaussian blur (sigma, HR pixels) applied before downsampling; 0 = none.
    noise : float
        Gaussian noise (sigma, grey levels) added to the LR frames; 0 = none.
    """

    name: str
    exponent: tuple[float, float] = (1.0, 1.4)
    contrast: tuple[float, float] = (18.0, 40.0)
    shapes: tuple[int, int] = (6, 13)
    shape_kinds: tuple[float, ...] = (0.3, 0.25, 0.2, 0.15, 0.1)
    half_period: tuple[float, float] = (2.0, 8.0)
    camera_step: int = 3
    object_step: int = 4
    sprite_contrast: tuple[float, float] = (20.0, 45.0)
    sprite_stripes: float = 0.5
    stripe_period: tuple[float, float] = (3.0, 8.0)
    blur: float = 0.0
    noise: float = 0.0


#: The families of ``synthetic.domains``, from easy to hard for VSR.
DOMAINS: dict[str, SyntheticDomain] = {
    # Everything at once: textures, edges, lines, stripes, moderate motion.
    "mixed": SyntheticDomain("mixed"),
    # Smooth, low-contrast texture, few edges, no stripes, slow motion: bicubic
    # is nearly right, little is left to learn.
    "smooth": SyntheticDomain(
        "smooth",
        exponent=(1.8, 2.2),
        contrast=(8.0, 16.0),
        shapes=(2, 5),
        shape_kinds=(0.5, 0.5, 0.0, 0.0, 0.0),
        camera_step=1,
        object_step=1,
        sprite_contrast=(8.0, 16.0),
        sprite_stripes=0.0,
    ),
    # Dense fine detail near the HR Nyquist frequency, high contrast.
    "fine": SyntheticDomain(
        "fine",
        exponent=(0.7, 1.0),
        contrast=(30.0, 50.0),
        shapes=(10, 17),
        shape_kinds=(0.1, 0.1, 0.3, 0.3, 0.2),
        half_period=(1.5, 4.0),
        sprite_contrast=(30.0, 50.0),
        sprite_stripes=0.9,
        stripe_period=(2.5, 5.0),
    ),
    # The mixed content moving fast: large displacements to align.
    "fast": SyntheticDomain("fast", camera_step=8, object_step=10),
    # The mixed content with a blurred, noisy LR: restoration, not only upscaling.
    "degraded": SyntheticDomain("degraded", blur=1.2, noise=3.0),
}


def _fft_size(minimum: int) -> int:
    """Return the smallest 5-smooth integer >= ``minimum`` (a fast FFT size)."""
    size = max(minimum, 1)
    while True:
        rest = size
        for factor in (2, 3, 5):
            while rest % factor == 0:
                rest //= factor
        if rest == 1:
            return size
        size += 1


def _pink_noise(
    rng: np.random.Generator, channels: int, height: int, width: int, exponent: float
) -> np.ndarray:
    """Zero-mean, unit-variance noise with a ``1 / f**exponent`` amplitude spectrum.

    The noise is synthesised at a fast FFT size and cropped, so it does not wrap
    around. Returns float32 ``(channels, height, width)``.
    """
    fft_h, fft_w = _fft_size(height), _fft_size(width)
    white = rng.standard_normal((channels, fft_h, fft_w), dtype=np.float32)
    freq_y = np.fft.fftfreq(fft_h).astype(np.float32)[:, None]
    freq_x = np.fft.rfftfreq(fft_w).astype(np.float32)[None, :]
    radius = np.sqrt(freq_y**2 + freq_x**2)
    radius[0, 0] = np.inf  # remove the mean
    spectrum = np.fft.rfft2(white) * radius ** np.float32(-exponent)
    field = np.fft.irfft2(spectrum, s=(fft_h, fft_w))[:, :height, :width]
    field -= field.mean(axis=(1, 2), keepdims=True)
    field /= field.std(axis=(1, 2), keepdims=True) + np.float32(1e-6)
    return field


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """Draw a random RGB colour, sometimes desaturated, float32 ``(3,)``."""
    colour = rng.uniform(15.0, 240.0, size=3)
    if rng.random() < 0.3:
        grey = colour.mean()
        colour = grey + 0.25 * (colour - grey)
    return colour.astype(np.float32)


def _colourise(
    fields: np.ndarray, rng: np.random.Generator, contrast: float
) -> np.ndarray:
    """Map three noise fields ``(3, h, w)`` to an RGB texture ``(h, w, 3)``.

    Field 0 drives luminance (along a slightly tinted grey axis), fields 1 and 2
    add weaker chroma along random colour directions.
    """
    luminance_axis = 1.0 + 0.15 * rng.standard_normal(3)
    chroma_axes = rng.standard_normal((2, 3))
    chroma_axes /= np.linalg.norm(chroma_axes, axis=1, keepdims=True)
    mixing = contrast * np.stack(
        [luminance_axis, 0.35 * chroma_axes[0], 0.35 * chroma_axes[1]]
    )
    texture = np.tensordot(fields, mixing.astype(np.float32), axes=([0], [0]))
    return texture + _random_colour(rng)


def _rotated_coordinates(
    rng: np.random.Generator, height: int, width: int, half_extent: float
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """Pick a centre and an angle; return a bounding box and rotated coordinates.

    Returns ``(box, u, v)``: ``box`` slices the canvas, and ``u``, ``v`` are the
    offsets of every pixel centre in the box from the shape's centre, in the
    shape's rotated frame.
    """
    centre_y = rng.uniform(0, height)
    centre_x = rng.uniform(0, width)
    angle = rng.uniform(0, np.pi)
    top = max(int(centre_y - half_extent), 0)
    bottom = min(int(centre_y + half_extent) + 2, height)
    left = max(int(centre_x - half_extent), 0)
    right = min(int(centre_x + half_extent) + 2, width)
    dy = np.arange(top, bottom)[:, None] + 0.5 - centre_y
    dx = np.arange(left, right)[None, :] + 0.5 - centre_x
    cos, sin = np.cos(angle), np.sin(angle)
    return (
        (slice(top, bottom), slice(left, right)),
        cos * dx + sin * dy,
        cos * dy - sin * dx,
    )


def _paint_shapes(
    canvas: np.ndarray,
    luminance: np.ndarray,
    rng: np.random.Generator,
    size: int,
    domain: SyntheticDomain,
) -> None:
    """Paint hard-edged shapes, lines, stripes and checkerboards onto ``canvas``.

    ``size`` is the frame's smaller side; shapes are scaled to it and their
    number to the canvas area. Fills are solid colours modulated by the
    background's luminance noise, so that shapes keep some texture.
    """
    height, width, _ = canvas.shape
    area = height * width / (1.6 * size * size)
    count = 1 + int(rng.integers(*domain.shapes) * area)
    for _ in range(count):
        kind = int(rng.choice(5, p=list(domain.shape_kinds)))
        if kind == 2:  # thin line, 1-3 px wide
            a, b = rng.uniform(0.15, 0.45) * size, rng.uniform(0.5, 1.5)
        else:
            a, b = rng.uniform(0.04, 0.22, size=2) * size
        box, u, v = _rotated_coordinates(rng, height, width, float(np.hypot(a, b)))
        if kind == 1:
            mask = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        else:
            mask = (np.abs(u) <= a) & (np.abs(v) <= b)
        modulation = np.float32(rng.uniform(4.0, 20.0)) * luminance[box][..., None]
        fill = modulation + _random_colour(rng)
        if kind in (3, 4):  # square-wave stripes / checkerboard in two colours
            half_period = rng.uniform(*domain.half_period)
            phase = np.floor(u / half_period)
            if kind == 4:
                phase = phase + np.floor(v / half_period)
            second = (phase % 2 == 1)[..., None]
            fill = np.where(second, modulation + _random_colour(rng), fill)
        region = canvas[box]
        region[mask] = fill[mask]


def _camera_path(
    rng: np.random.Generator, num_frames: int, max_step: int
) -> np.ndarray:
    """Integer HR camera offsets ``(num_frames, 2)``, minimum 0 on each axis."""
    velocity = rng.integers(-max_step, max_step + 1, size=2)
    if not velocity.any():
        velocity[rng.integers(2)] = rng.choice([-1, 1])
    steps = np.repeat(velocity[None, :], max(num_frames - 1, 0), axis=0)
    if num_frames > 3 and rng.random() < 0.5:  # slow drift change part-way
        change_at = int(rng.integers(num_frames // 3, 2 * num_frames // 3 + 1))
        changed = np.clip(velocity + rng.integers(-1, 2, size=2), -max_step, max_step)
        if changed.any():  # the camera keeps moving
            steps[change_at:] = changed
    path = np.concatenate([np.zeros((1, 2), dtype=np.int64), np.cumsum(steps, axis=0)])
    return path - path.min(axis=0)


def _make_sprite(
    rng: np.random.Generator,
    fields: np.ndarray,
    size: int,
    domain: SyntheticDomain,
) -> tuple[np.ndarray, np.ndarray]:
    """Make a textured object: RGB ``(h, w, 3)`` and alpha ``(h, w, 1)`` in [0, 1].

    The texture is a random window of the clip's noise ``fields`` with its own
    colours and contrast, optionally overlaid with fine square-wave stripes.
    """
    _, field_h, field_w = fields.shape
    sprite_h = min(max(int(rng.uniform(0.15, 0.4) * size), 3), field_h)
    sprite_w = min(max(int(rng.uniform(0.15, 0.4) * size), 3), field_w)
    top = int(rng.integers(0, field_h - sprite_h + 1))
    left = int(rng.integers(0, field_w - sprite_w + 1))
    window = fields[:, top : top + sprite_h, left : left + sprite_w]
    texture = _colourise(window, rng, contrast=rng.uniform(*domain.sprite_contrast))
    if rng.random() < domain.sprite_stripes:  # fine stripes: HR-scale detail
        period = rng.uniform(*domain.stripe_period)
        angle = rng.uniform(0, np.pi)
        yy = np.arange(sprite_h, dtype=np.float32)[:, None]
        xx = np.arange(sprite_w, dtype=np.float32)[None, :]
        wave = np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period)
        texture += np.float32(rng.uniform(20.0, 50.0)) * np.sign(wave)[..., None]
    half_h, half_w = sprite_h / 2, sprite_w / 2
    yy = (np.arange(sprite_h, dtype=np.float32)[:, None] + 0.5 - half_h) / half_h
    xx = (np.arange(sprite_w, dtype=np.float32)[None, :] + 0.5 - half_w) / half_w
    if rng.random() < 0.6:  # anti-aliased ellipse: ~1 px linear ramp at the rim
        radius = np.sqrt(yy**2 + xx**2)
        alpha = np.clip((1.0 - radius) * min(half_h, half_w) + 0.5, 0.0, 1.0)
    else:  # hard rectangle
        alpha = np.ones((sprite_h, sprite_w), dtype=np.float32)
    return texture, alpha[..., None].astype(np.float32)


def _composite(
    frame: np.ndarray, texture: np.ndarray, alpha: np.ndarray, top: int, left: int
) -> None:
    """Alpha-blend a sprite into ``frame`` at ``(top, left)``, clipped to the frame."""
    height, width, _ = frame.shape
    sprite_h, sprite_w, _ = alpha.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + sprite_h, height), min(left + sprite_w, width)
    if y0 >= y1 or x0 >= x1:
        return
    inside = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
    region = frame[y0:y1, x0:x1]
    region += alpha[inside] * (texture[inside] - region)


def render_hr_clip(
    rng: np.random.Generator,
    num_frames: int,
    height: int,
    width: int,
    domain: SyntheticDomain = DOMAINS["mixed"],
) -> np.ndarray:
    """Render one synthetic HR clip (see the module docstring for its content).

    Parameters
    ----------
    rng : np.random.Generator
        The only source of randomness.
    num_frames, height, width : int
        Clip length and HR frame size.
    domain : SyntheticDomain
        The family of content (``mixed``: the generator's original content).

    Returns
    -------
    np.ndarray
        uint8 ``(num_frames, height, width, 3)``.
    """
    size = min(height, width)
    exponent = rng.uniform(*domain.exponent)
    path = _camera_path(rng, num_frames, domain.camera_step)
    margin = domain.camera_step * max(num_frames - 1, 0)
    canvas_h, canvas_w = height + margin, width + margin
    start = rng.integers(0, margin - path.max(axis=0) + 1)
    fields = _pink_noise(rng, 3, canvas_h, canvas_w, exponent)
    canvas = _colourise(fields, rng, contrast=rng.uniform(*domain.contrast))
    _paint_shapes(canvas, fields[0], rng, size, domain)

    frames = np.empty((num_frames, height, width, 3), dtype=np.float32)
    for t, (y, x) in enumerate(path + start):
        frames[t] = canvas[y : y + height, x : x + width]

    for _ in range(int(rng.integers(2, 5))):
        texture, alpha = _make_sprite(rng, fields, size, domain)
        position = rng.uniform(-0.2, 0.9, size=2) * (height, width)
        step = domain.object_step
        velocity = rng.integers(-step, step + 1, size=2)
        for t in range(num_frames):
            top, left = np.floor(position + t * velocity).astype(int)
            _composite(frames[t], texture, alpha, int(top), int(left))
    np.rint(frames, out=frames)
    return np.clip(frames, 0, 255, out=frames).astype(np.uint8)


def degrade(
    hr: np.ndarray,
    scale: int,
    domain: SyntheticDomain,
    rng: np.random.Generator,
) -> np.ndarray:
    """Make the LR clip of ``hr``: blur, :func:`bicubic_downsample`, noise.

    Without blur and noise (every domain but ``degraded``) this is the
    bicubic downsampling alone and draws nothing from ``rng``.

    Parameters
    ----------
    hr : np.ndarray
        uint8 frames ``(T, H, W, 3)``.
    scale : int
        Downsampling factor.
    domain : SyntheticDomain
        Its ``blur`` (Gaussian sigma, HR pixels) is applied before
        downsampling, its ``noise`` (sigma, grey levels) added after.
    rng : np.random.Generator
        Source of the noise.

    Returns
    -------
    np.ndarray
        uint8 frames ``(T, H // scale, W // scale, 3)``.
    """
    if domain.blur > 0:
        hr = np.stack(
            [
                np.asarray(
                    Image.fromarray(frame).filter(ImageFilter.GaussianBlur(domain.blur))
                )
                for frame in hr
            ]
        )
    lr = bicubic_downsample(hr, scale)
    if domain.noise > 0:
        noisy = lr + rng.normal(0.0, domain.noise, size=lr.shape)
        lr = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return lr


def domain_of(name: str) -> str:
    """Return the domain of a synthetic clip from its name (``""``: single domain)."""
    last = name.rsplit("-", 1)[-1]
    return last if last in DOMAINS else ""


def parse_domains(text: str) -> tuple[SyntheticDomain, ...]:
    """Read ``synthetic.domains``: comma-separated names; "" is ``mixed`` alone.

    Raises
    ------
    DatasetError
        For an unknown or repeated name; the message lists the valid ones.
    """
    names = [name.strip() for name in text.split(",") if name.strip()] or ["mixed"]
    unknown = [name for name in names if name not in DOMAINS]
    if unknown or len(set(names)) != len(names):
        raise DatasetError(
            f"synthetic.domains={text!r}: names must be distinct and among "
            f"{', '.join(DOMAINS)}"
        )
    return tuple(DOMAINS[name] for name in names)


def make_synthetic_videos(
    seed: int | np.random.SeedSequence,
    num_videos: int,
    num_frames: int,
    height: int,
    width: int,
    scale: int = 4,
    name_prefix: str = "synthetic",
    domains: Sequence[SyntheticDomain] = (DOMAINS["mixed"],),
) -> list[InMemoryVideo]:
    """Generate synthetic VSR clips, deterministically from ``seed``.

    Video ``k`` depends only on ``seed`` and ``k`` (its generator is the ``k``-th
    child of ``SeedSequence(seed)``), not on ``num_videos``. It belongs to
    domain ``k mod len(domains)``, so that every stretch of consecutive videos
    holds all domains alike.

    Parameters
    ----------
    seed : int or np.random.SeedSequence
        Non-negative seed.
    num_videos, num_frames : int
        Number of clips (>= 1) and frames per clip (>= 1).
    height, width : int
        HR frame size; positive multiples of ``scale``.
    scale : int
        Upscaling factor (LR = :func:`bicubic_downsample` of HR by ``scale``).
    name_prefix : str
        Clip ``k`` is named ``f"{name_prefix}-{k:04d}"``, followed by
        ``-<domain>`` when there are several domains.
    domains : Sequence[SyntheticDomain]
        The families to draw from, in turn.

    Returns
    -------
    list[InMemoryVideo]
        The clips, uint8 LR ``(T, height/scale, width/scale, 3)`` and HR
        ``(T, height, width, 3)``.

    Raises
    ------
    DatasetError
        For an invalid setting; the message names it.
    """
    sequence = seed_sequence(seed)
    num_videos = require_int(
        num_videos, "number of videos (synthetic.train-videos/test-videos)", 1
    )
    num_frames = require_int(num_frames, "synthetic.frames", 1)
    scale = require_int(scale, "vsr.scale", 1)
    for value, key in ((height, "synthetic.height"), (width, "synthetic.width")):
        if require_int(value, key, scale) % scale:
            raise DatasetError(f"{key}={value} must be a multiple of vsr.scale={scale}")
    if not domains:
        raise DatasetError("synthetic.domains names no domain")
    videos = []
    for index, child in enumerate(sequence.spawn(num_videos)):
        domain = domains[index % len(domains)]
        rng = np.random.default_rng(child)
        hr = render_hr_clip(rng, num_frames, height, width, domain)
        lr = degrade(hr, scale, domain, rng)
        suffix = f"-{domain.name}" if len(domains) > 1 else ""
        videos.append(InMemoryVideo(f"{name_prefix}-{index:04d}{suffix}", lr, hr))
    return videos


def synthetic_vsr_splits(
    seed: int,
    train_videos: int,
    test_videos: int,
    frames: int,
    height: int,
    width: int,
    scale: int = 4,
    domains: Sequence[SyntheticDomain] = (DOMAINS["mixed"],),
) -> tuple[list[InMemoryVideo], list[InMemoryVideo]]:
    """Generate the synthetic training clips and the held-out test clips.

    The two splits come from disjoint seed streams
    (``SeedSequence(seed).spawn(2)``), so no test clip is a training clip.
    Both draw from ``domains`` in turn: with at least as many test clips as
    domains, the test split covers every domain.

    Returns
    -------
    tuple[list[InMemoryVideo], list[InMemoryVideo]]
        Training clips named ``synthetic-train-0000`` ... and test clips named
        ``synthetic-test-0000`` ...
    """
    train_seed, test_seed = seed_sequence(seed).spawn(2)
    require_int(train_videos, "synthetic.train-videos", 1)
    require_int(test_videos, "synthetic.test-videos", 1)
    train = make_synthetic_videos(
        train_seed, train_videos, frames, height, width, scale, "synthetic-train",
        domains,
    )  # fmt: skip
    test = make_synthetic_videos(
        test_seed, test_videos, frames, height, width, scale, "synthetic-test",
        domains,
    )  # fmt: skip
    return train, test


def _reds_train_names(count: int) -> list[str]:
    """List the first ``count`` REDS-style clip names that are not REDS4 clips."""
    names: list[str] = []
    number = 0
    while len(names) < count:
        name = f"{number:03d}"
        if name not in REDS4_CLIPS:
            names.append(name)
        number += 1
    return names


def _write_clip(video: InMemoryVideo, hr_dir: Path, lr_dir: Path) -> None:
    hr_dir.mkdir(parents=True)
    lr_dir.mkdir(parents=True)
    for index in range(video.num_frames):
        file_name = f"{index:08d}.png"
        Image.fromarray(video.hr[index]).save(hr_dir / file_name, compress_level=1)
        Image.fromarray(video.lr[index]).save(lr_dir / file_name, compress_level=1)


def write_synthetic_reds(
    root: str | Path,
    seed: int = 123,
    num_videos: int = 8,
    num_frames: int = 10,
    height: int = 96,
    width: int = 96,
    scale: int = 4,
) -> dict[str, list[str]]:
    """Write a synthetic dataset to disk in the REDS layout, as PNG frames.

    HR frames go to ``<root>/train_sharp/<clip>/<frame>.png`` and LR frames to
    ``<root>/train_sharp_bicubic/X<scale>/<clip>/<frame>.png`` (frames named
    ``00000000.png`` ...). ``num_videos`` training clips are named like REDS
    clips, skipping the REDS4 names (``001``, ``002``, ...); four held-out clips
    are named ``000``, ``011``, ``015``, ``020`` so that the REDS4 test split
    exists. The clips are those of :func:`synthetic_vsr_splits` with ``seed``.

    Parameters
    ----------
    root : str or Path
        Output folder; must not exist yet or be empty.
    seed, num_videos, num_frames, height, width, scale
        As for :func:`synthetic_vsr_splits` (``num_videos`` training clips).

    Returns
    -------
    dict[str, list[str]]
        ``{"train": [clip names], "test": [clip names]}``.

    Raises
    ------
    DatasetError
        If ``root`` is a file or a non-empty folder, or a setting is invalid.
    """
    root = require_empty_folder(root, "the synthetic dataset")
    train, test = synthetic_vsr_splits(
        seed, num_videos, len(REDS4_CLIPS), num_frames, height, width, scale
    )
    names = {"train": _reds_train_names(len(train)), "test": list(REDS4_CLIPS)}
    clips: Sequence[tuple[str, InMemoryVideo]] = [
        *zip(names["train"], train, strict=True),
        *zip(names["test"], test, strict=True),
    ]
    for clip, video in clips:
        _write_clip(
            video,
            hr_dir=root / "train_sharp" / clip,
            lr_dir=reds_lr_folder(root, scale) / clip,
        )
    return names
