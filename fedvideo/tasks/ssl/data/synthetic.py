"""Embedded synthetic action videos whose classes differ only in motion.

Each clip is rendered from seeded generators, so the same seed gives
bit-identical arrays. Appearance and motion are drawn from two separate
generators, and the appearance generator never sees the class:

* **Background** (static): value noise, three octaves of random colour
  values on grids of 2-4, 6-10 and size/3 cells with smoothstep interpolation,
  around a random base colour.
* **Objects**: 1-3 rectangles or ellipses with a random size (long half-axis
  9-16 % of the frame, aspect 0.4-0.75), random orientation and a soft stripe
  texture between two random colours across their long axis (so that rotations
  are visible), anti-aliased edges.
* **Motion** (the class): every object of a clip follows the class's pattern of
  :data:`MOTION_PATTERNS` (class ``c`` uses pattern ``c``) with its own random
  speed, start position and phase: translations at 0.8-2.0 px/frame at 80 px
  (scaled with the frame size; capped so that the path spans at most 60 % of
  the frame), rotations at 0.05-0.12 rad/frame, zooms by 1.5-3 % per frame,
  oscillations of amplitude 8-18 % of the frame with periods of 8-16 frames,
  and orbits of radius 10-20 % at 0.15-0.3 rad/frame.

* **Camera motion** (optional, ``camera_motion=True``): the background moves
  with the class's pattern too, on a path drawn like one more object's
  (shift, rotation, zoom about the frame centre), so that the whole frame
  carries the class's motion, not only the objects. The camera draws from its
  own seed, so clips without it are unchanged.

Directions are those seen on screen (rows grow downwards); note that a
horizontal flip maps e.g. ``translate-right`` to ``translate-left``.
:func:`write_synthetic_action_dataset` writes clips in the prepared layout of
:mod:`fedvideo.tasks.ssl.data.action_datasets`, so that the frame-folder loaders can be
exercised end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fedvideo.data.errors import (
    DatasetError,
    require_empty_folder,
    require_int,
    seed_sequence,
)
from fedvideo.data.frames import frame_file_name
from fedvideo.tasks.ssl.data.action_datasets import (
    video_frame_folder,
    write_prepared_annotations,
)
from fedvideo.tasks.ssl.data.action_video import InMemoryActionVideo

__all__ = [
    "MOTION_PATTERNS",
    "make_synthetic_action_videos",
    "render_action_clip",
    "synthetic_action_classes",
    "synthetic_action_splits",
    "write_synthetic_action_dataset",
]

#: Motion patterns; synthetic class ``c`` uses pattern ``c``.
MOTION_PATTERNS: tuple[str, ...] = (
    "translate-right",
    "translate-left",
    "translate-down",
    "translate-up",
    "rotate-cw",
    "rotate-ccw",
    "zoom-in",
    "zoom-out",
    "oscillate-horizontal",
    "oscillate-vertical",
    "orbit-cw",
    "orbit-ccw",
    "translate-down-right",
    "translate-up-left",
    "translate-up-right",
    "translate-down-left",
)

#: Unit direction ``(dy, dx)`` of each translation pattern.
_DIRECTIONS: dict[str, tuple[float, float]] = {
    "translate-right": (0.0, 1.0),
    "translate-left": (0.0, -1.0),
    "translate-down": (1.0, 0.0),
    "translate-up": (-1.0, 0.0),
    "translate-down-right": (0.5**0.5, 0.5**0.5),
    "translate-up-left": (-(0.5**0.5), -(0.5**0.5)),
    "translate-up-right": (-(0.5**0.5), 0.5**0.5),
    "translate-down-left": (0.5**0.5, -(0.5**0.5)),
}


def _smooth_grid(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: random ``(cells+1)^2`` RGB values, smoothly interpolated.

    Returns float32 ``(size, size, 3)`` with values of unit scale.
    """
    grid = rng.standard_normal((cells + 1, cells + 1, 3)).astype(np.float32)
    position = (np.arange(size, dtype=np.float32) + 0.5) * (cells / size)
    lower = np.minimum(np.floor(position).astype(int), cells - 1)
    frac = position - lower
    frac = frac * frac * (3.0 - 2.0 * frac)  # smoothstep: no visible creases
    weights = np.zeros((size, cells + 1), dtype=np.float32)
    weights[np.arange(size), lower] = 1.0 - frac
    weights[np.arange(size), lower + 1] = frac
    return np.einsum("yi,ijc,xj->yxc", weights, grid, weights)


def _background(
    rng: np.random.Generator, size: int, extent: int | None = None
) -> np.ndarray:
    """Draw a static textured background, float32 ``(extent, extent, 3)``.

    Three octaves of value noise: coarse colour variation, medium blobs and a
    fine grain (cells of about 3 px). The grain gives patches cut from the
    clip a texture that stays visible where they are pasted (Catch-the-Patch
    cannot track a patch that looks like its surroundings). ``extent`` (default
    ``size``) draws a larger canvas with the texture scale of a ``size`` frame.
    """
    extent = size if extent is None else extent
    zoom = extent / size
    base = rng.uniform(50.0, 205.0, size=3).astype(np.float32)
    coarse = _smooth_grid(rng, extent, round(int(rng.integers(2, 5)) * zoom))
    medium = _smooth_grid(rng, extent, round(int(rng.integers(6, 11)) * zoom))
    grain = _smooth_grid(rng, extent, max(round(size // 3 * zoom), 2))
    return (
        base
        + np.float32(rng.uniform(20.0, 40.0)) * coarse
        + np.float32(rng.uniform(6.0, 15.0)) * medium
        + np.float32(rng.uniform(15.0, 30.0)) * grain
    )


@dataclass(frozen=True)
class _Look:
    """An object's appearance: shape, half-axes (px), angle, stripe colours."""

    ellipse: bool
    a: float
    b: float
    angle: float
    colours: np.ndarray  # float32 (2, 3)
    period: float
    phase: float


def _object_appearance(rng: np.random.Generator, size: int) -> _Look:
    """Draw an object's shape, size, orientation and colours (no motion)."""
    long_half = float(rng.uniform(0.09, 0.16) * size)
    return _Look(
        ellipse=bool(rng.random() < 0.5),
        a=long_half,
        b=long_half * float(rng.uniform(0.4, 0.75)),
        angle=float(rng.uniform(0.0, 2.0 * np.pi)),
        colours=rng.uniform(0.0, 255.0, size=(2, 3)).astype(np.float32),
        period=long_half * float(rng.uniform(0.35, 0.7)),
        phase=float(rng.uniform(0.0, 2.0 * np.pi)),
    )


def _object_motion(
    rng: np.random.Generator, pattern: str, num_frames: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one object's path for ``pattern``.

    Returns the centre ``(T, 2)`` as ``(y, x)``, the rotation ``(T,)`` added to
    the object's own angle (radians, clockwise on screen) and the scale ``(T,)``.
    """
    t = np.arange(num_frames, dtype=np.float64)
    centred = t - (num_frames - 1) / 2.0
    middle = rng.uniform(0.3, 0.7, size=2) * size
    centre = np.repeat(middle[None, :], num_frames, axis=0)
    rotation = np.zeros(num_frames)
    scale = np.ones(num_frames)
    if pattern in _DIRECTIONS:
        speed = rng.uniform(0.8, 2.0) * size / 80.0
        speed = min(speed, 0.6 * size / max(num_frames - 1, 1))
        centre = centre + speed * centred[:, None] * np.array(_DIRECTIONS[pattern])
    elif pattern.startswith("rotate"):
        sign = 1.0 if pattern == "rotate-cw" else -1.0
        rotation = sign * rng.uniform(0.05, 0.12) * t
    elif pattern.startswith("zoom"):
        rate = min(rng.uniform(0.015, 0.03), np.log(3.0) / max(num_frames - 1, 1))
        scale = np.exp((1.0 if pattern == "zoom-in" else -1.0) * rate * centred)
    elif pattern.startswith("oscillate"):
        amplitude = rng.uniform(0.08, 0.18) * size
        period = rng.uniform(8.0, 16.0)
        offset = amplitude * np.sin(
            2.0 * np.pi * t / period + rng.uniform(0, 2 * np.pi)
        )
        axis = 1 if pattern == "oscillate-horizontal" else 0
        centre[:, axis] += offset
    elif pattern.startswith("orbit"):
        radius = rng.uniform(0.1, 0.2) * size
        sign = 1.0 if pattern == "orbit-cw" else -1.0
        angle = rng.uniform(0, 2 * np.pi) + sign * rng.uniform(0.15, 0.3) * t
        centre = centre + radius * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    else:  # pragma: no cover - MOTION_PATTERNS and this function agree
        raise DatasetError(f"unknown motion pattern {pattern!r}")
    return centre, rotation, scale


def _paint_object(
    frames: np.ndarray,
    look: _Look,
    centre: np.ndarray,
    rotation: np.ndarray,
    scale: np.ndarray,
) -> None:
    """Alpha-blend one moving object into float32 ``frames`` ``(T, S, S, 3)``."""
    _, height, width, _ = frames.shape
    a, b = look.a, look.b
    reach = np.hypot(a, b) * scale.max() + 2.0
    y0 = max(int(np.floor(centre[:, 0].min() - reach)), 0)
    y1 = min(int(np.ceil(centre[:, 0].max() + reach)) + 1, height)
    x0 = max(int(np.floor(centre[:, 1].min() - reach)), 0)
    x1 = min(int(np.ceil(centre[:, 1].max() + reach)) + 1, width)
    if y0 >= y1 or x0 >= x1:
        return
    yy = np.arange(y0, y1, dtype=np.float32)[None, :, None] + 0.5
    xx = np.arange(x0, x1, dtype=np.float32)[None, None, :] + 0.5
    dy = yy - centre[:, 0, None, None].astype(np.float32)
    dx = xx - centre[:, 1, None, None].astype(np.float32)
    angle = look.angle + rotation
    cos = np.cos(angle).astype(np.float32)[:, None, None]
    sin = np.sin(angle).astype(np.float32)[:, None, None]
    zoom = scale.astype(np.float32)[:, None, None]
    u = (cos * dx + sin * dy) / zoom
    v = (cos * dy - sin * dx) / zoom
    if look.ellipse:
        inside = (1.0 - np.sqrt((u / a) ** 2 + (v / b) ** 2)) * (b * zoom)
    else:
        inside = np.minimum(a - np.abs(u), b - np.abs(v)) * zoom
    alpha = np.clip(inside + 0.5, 0.0, 1.0)[..., None]
    stripes = np.sin(np.float32(2.0 * np.pi / look.period) * u + np.float32(look.phase))
    mix = np.clip(0.5 + 1.5 * stripes, 0.0, 1.0)[..., None]
    first, second = look.colours
    texture = first + mix * (second - first)
    region = frames[:, y0:y1, x0:x1]
    region += alpha * (texture - region)


def _sample_bilinear(canvas: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample ``canvas (H, W, 3)`` at pixel coordinates ``ys, xs`` (any shape).

    Coordinates are those of pixel centres (``0`` is the first pixel's centre);
    points outside are clamped to the border.
    """
    height, width, _ = canvas.shape
    ys = np.clip(ys, 0.0, height - 1.0)
    xs = np.clip(xs, 0.0, width - 1.0)
    y0 = np.minimum(np.floor(ys).astype(int), height - 2)
    x0 = np.minimum(np.floor(xs).astype(int), width - 2)
    fy = (ys - y0)[..., None].astype(np.float32)
    fx = (xs - x0)[..., None].astype(np.float32)
    top = canvas[y0, x0] * (1 - fx) + canvas[y0, x0 + 1] * fx
    bottom = canvas[y0 + 1, x0] * (1 - fx) + canvas[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _moving_background(
    looks_rng: np.random.Generator,
    camera_rng: np.random.Generator,
    pattern: str,
    num_frames: int,
    size: int,
) -> np.ndarray:
    """Frames ``(T, S, S, 3)`` of a background that moves with ``pattern``.

    The camera's path is drawn like an object's (:func:`_object_motion`) and
    applied to the whole background about the frame centre: its shift from
    the path's mean, its rotation and its scale. The background is drawn on a
    canvas large enough for every frame (same texture scale as a static one)
    and resampled bilinearly.
    """
    centre, rotation, scale = _object_motion(camera_rng, pattern, num_frames, size)
    shift = centre - centre.mean(axis=0)
    half = size / 2.0
    pixel = np.arange(size, dtype=np.float64) + 0.5 - half
    dy = pixel[None, :, None] - shift[:, 0, None, None]  # (T, S, 1)
    dx = pixel[None, None, :] - shift[:, 1, None, None]  # (T, 1, S)
    cos = np.cos(rotation)[:, None, None]
    sin = np.sin(rotation)[:, None, None]
    zoom = scale[:, None, None]
    # The inverse of the objects' mapping in _paint_object: frame -> canvas.
    u = (cos * dx + sin * dy) / zoom
    v = (cos * dy - sin * dx) / zoom
    reach = max(np.abs(u).max(), np.abs(v).max())
    extent = int(np.ceil(2.0 * reach)) + 4
    canvas = _background(looks_rng, size, extent)
    middle = extent / 2.0 - 0.5
    return _sample_bilinear(canvas, v + middle, u + middle).astype(np.float32)


def render_action_clip(
    seed: np.random.SeedSequence,
    pattern: int,
    num_frames: int,
    size: int,
    camera_motion: bool = False,
) -> np.ndarray:
    """Render one synthetic action clip (see the module docstring).

    Parameters
    ----------
    seed : np.random.SeedSequence
        The clip's seed; its children drive the appearance, the objects' motion
        and the camera's.
    pattern : int
        Index into :data:`MOTION_PATTERNS`.
    num_frames, size : int
        Clip length and frame side (frames are square).
    camera_motion : bool
        Move the background with the pattern too (drawn like one more object's
        motion), so that the whole frame carries the class's motion.

    Returns
    -------
    np.ndarray
        uint8 ``(num_frames, size, size, 3)``.
    """
    # The third child exists only for camera motion; spawning it leaves the
    # first two (and so the clips without camera motion) unchanged.
    appearance_seed, motion_seed, camera_seed = seed.spawn(3)
    looks_rng = np.random.default_rng(appearance_seed)
    motion_rng = np.random.default_rng(motion_seed)
    if camera_motion:
        camera_rng = np.random.default_rng(camera_seed)
        frames = _moving_background(
            looks_rng, camera_rng, MOTION_PATTERNS[pattern], num_frames, size
        )
    else:
        background = _background(looks_rng, size)
        frames = np.repeat(background[None], num_frames, axis=0)
    looks = [
        _object_appearance(looks_rng, size)
        for _ in range(int(looks_rng.integers(1, 4)))
    ]
    for look in looks:
        centre, rotation, scale = _object_motion(
            motion_rng, MOTION_PATTERNS[pattern], num_frames, size
        )
        _paint_object(frames, look, centre, rotation, scale)
    np.rint(frames, out=frames)
    return np.clip(frames, 0, 255, out=frames).astype(np.uint8)


def synthetic_action_classes(num_classes: int) -> list[str]:
    """Return the synthetic class names ``class_00``, ``class_01``, ..."""
    return [f"class_{c:02d}" for c in range(num_classes)]


def make_synthetic_action_videos(
    seed: int | np.random.SeedSequence,
    num_classes: int,
    videos_per_class: int,
    frames: int,
    size: int,
    name_prefix: str = "",
    camera_motion: bool = False,
) -> list[InMemoryActionVideo]:
    """Generate labelled synthetic action clips, deterministically from ``seed``.

    Clip ``i`` of class ``c`` depends only on ``seed``, ``c`` and ``i`` (its seed
    is ``SeedSequence(seed)`` with ``(c, i)`` appended to the spawn key), not on
    the number of classes or clips.

    Parameters
    ----------
    seed : int or np.random.SeedSequence
        Non-negative seed.
    num_classes : int
        Number of classes, 1 to ``len(MOTION_PATTERNS)``; class ``c`` moves with
        ``MOTION_PATTERNS[c]``.
    videos_per_class : int
        Clips per class (>= 0).
    frames : int
        Frames per clip (>= 2).
    size : int
        Frame height and width (>= 16).
    name_prefix : str
        Clip ``i`` of class ``c`` is named ``f"class_{c:02d}/{prefix}video_{i:03d}"``.
    camera_motion : bool
        Move the backgrounds with the class's pattern too
        (see :func:`render_action_clip`).

    Returns
    -------
    list[InMemoryActionVideo]
        Class by class, uint8 frames ``(frames, size, size, 3)``, label ``c``.

    Raises
    ------
    DatasetError
        For an invalid setting, e.g. more classes than motion patterns.
    """
    sequence = seed_sequence(seed)
    num_classes = require_int(num_classes, "synthetic.classes", 1)
    if num_classes > len(MOTION_PATTERNS):
        raise DatasetError(
            f"synthetic.classes={num_classes} exceeds the {len(MOTION_PATTERNS)} "
            "motion patterns of the synthetic action dataset"
        )
    videos_per_class = require_int(videos_per_class, "synthetic.videos-per-class", 0)
    frames = require_int(frames, "synthetic.frames", 2)
    size = require_int(size, "synthetic.size", 16)
    classes = synthetic_action_classes(num_classes)
    videos = []
    for label, class_name in enumerate(classes):
        for index in range(videos_per_class):
            clip_seed = np.random.SeedSequence(
                sequence.entropy, spawn_key=(*sequence.spawn_key, label, index)
            )
            videos.append(
                InMemoryActionVideo(
                    f"{class_name}/{name_prefix}video_{index:03d}",
                    label,
                    render_action_clip(clip_seed, label, frames, size, camera_motion),
                )
            )
    return videos


def synthetic_action_splits(
    seed: int,
    num_classes: int,
    train_per_class: int,
    test_per_class: int,
    frames: int,
    size: int,
    camera_motion: bool = False,
) -> tuple[list[InMemoryActionVideo], list[InMemoryActionVideo]]:
    """Generate the synthetic training clips and the held-out test clips.

    The splits come from disjoint seed streams (``SeedSequence(seed).spawn(2)``);
    ``camera_motion`` is passed to :func:`make_synthetic_action_videos`.

    Returns
    -------
    tuple[list[InMemoryActionVideo], list[InMemoryActionVideo]]
        Training clips named ``class_00/train_video_000`` ... and test clips
        named ``class_00/test_video_000`` ...
    """
    train_seed, test_seed = seed_sequence(seed).spawn(2)
    require_int(train_per_class, "synthetic.train-per-class", 1)
    require_int(test_per_class, "synthetic.test-per-class", 0)
    train = make_synthetic_action_videos(
        train_seed, num_classes, train_per_class, frames, size, "train_", camera_motion
    )
    test = make_synthetic_action_videos(
        test_seed, num_classes, test_per_class, frames, size, "test_", camera_motion
    )
    return train, test


def write_synthetic_action_dataset(
    out: str | Path,
    seed: int = 0,
    num_classes: int = 10,
    train_per_class: int = 20,
    test_per_class: int = 5,
    frames: int = 32,
    size: int = 80,
    camera_motion: bool = False,
) -> Path:
    """Write the clips of :func:`synthetic_action_splits` in the prepared layout.

    Frames are JPEG files (quality 95, no chroma subsampling)
    ``<out>/frames/class_XX/<video>/img_00001.jpg ...``;
    ``annotations/classes.json``, ``train.json`` and ``test.json`` list the
    classes and clips.

    Parameters
    ----------
    out : str or Path
        Output folder; must not exist yet or be empty.
    seed, num_classes, train_per_class, test_per_class, frames, size, camera_motion
        As for :func:`synthetic_action_splits`.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    DatasetError
        If ``out`` is a file or a non-empty folder, or a setting is invalid.
    """
    out = require_empty_folder(out, "the synthetic action dataset")
    train, test = synthetic_action_splits(
        seed, num_classes, train_per_class, test_per_class, frames, size, camera_motion
    )
    for video in (*train, *test):
        folder = video_frame_folder(out, video.name)
        folder.mkdir(parents=True)
        for index, frame in enumerate(video.frames, start=1):
            Image.fromarray(frame).save(
                folder / frame_file_name(index), quality=95, subsampling=0
            )
    write_prepared_annotations(
        out,
        synthetic_action_classes(num_classes),
        [{"name": video.name, "label": video.label} for video in train],
        [{"name": video.name, "label": video.label} for video in test],
    )
    return out
