"""Catch-the-Patch (CtP) augmentation: moving patches pasted into a clip.

CtP (Wang et al., 2021) is the self-supervised pretext task of FedVSSL: a few
patches, each cut from a random frame of the *same* clip, are pasted into every
frame of the clip and move along smooth random trajectories; the network must
predict where each patch is on every frame. This module makes the training
pairs: :func:`paste_moving_patches` returns the augmented clip and the box of
every patch on every frame (the regression target of
:func:`fedvideo.tasks.ssl.losses.ctp_trajectory_loss`).

Conventions
-----------
* Clips are float ``(T, H, W, 3)`` arrays in [0, 1] (H may differ from W).
* Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates: a box covers
  ``[x1, x2) x [y1, y2)``, so its width is ``x2 - x1`` and the integer box
  ``(x1, y1, x2, y2)`` covers the pixels ``frame[y1:y2, x1:x2]``.
* Every pixel quantity of :class:`CtPAugmentSettings` (patch scales, speed) is
  given for a ``reference_size`` (112, the paper's crop) and multiplied by
  ``min(H, W) / reference_size`` for the actual frame.

A patch's trajectory is piecewise: 2-4 *key frames* (the first and last frame
included) split the clip into segments; each segment has its own constant
velocity (a random direction, a speed of at most ``max_speed`` px/frame) and its
own constant log-size change rates (at most ``max_log_size_change`` per frame,
drawn independently for width and height). Motion that would leave the frame is
reflected at the border and growth that would leave the frame is stopped (the
rate is reversed), so every box stays inside the frame while both per-frame
bounds hold exactly.

Everything is drawn from the :class:`numpy.random.Generator` passed in, so the
output is fully determined by the generator's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MASK_SHAPES",
    "PATCH_SCALES_AT_112",
    "CtPAugmentSettings",
    "paste_moving_patches",
    "patch_mask",
    "sample_trajectory",
]

#: Patch scales of the paper in pixels at a 112 x 112 crop. A patch of scale
#: ``s`` and aspect ratio ``a`` (width / height) is ``s * sqrt(a)`` pixels wide
#: and ``s / sqrt(a)`` pixels high, so its area is ``s**2``.
PATCH_SCALES_AT_112: tuple[int, ...] = (16, 24, 28, 32, 48, 64)

#: Mask shapes understood by :func:`patch_mask`.
MASK_SHAPES: tuple[str, ...] = ("rectangle", "ellipse", "rhombus")

# Smallest box side in pixels along a trajectory (boxes are rendered >= 1 px).
_MIN_SIDE = 1.0


@dataclass(frozen=True)
class CtPAugmentSettings:
    """Settings of the CtP augmentation (defaults: the paper's).

    Parameters
    ----------
    num_patches : int
        Patches pasted into each clip (>= 0), by default 3.
    scales : tuple[float, ...]
        Patch scales (square root of the area) in pixels at `reference_size`;
        one is drawn uniformly per patch. By default :data:`PATCH_SCALES_AT_112`.
    aspect_range : tuple[float, float]
        Range of the aspect ratio width / height, drawn log-uniformly, by
        default ``(0.5, 2.0)``.
    max_speed : float
        Largest displacement of a box centre in one frame (Euclidean norm, in
        pixels at `reference_size`), by default 3.0.
    max_log_size_change : float
        Largest ``|log(w_t / w_{t-1})|`` (and the same for heights) between two
        consecutive frames, by default 0.025.
    key_frames : tuple[int, int]
        Inclusive range of the number of key frames (first and last frame
        included) that split a trajectory into segments of constant velocity
        and size change, by default ``(2, 4)``. Short clips use fewer.
    shapes : tuple[str, ...]
        Mask shapes to draw from, a subset of :data:`MASK_SHAPES`.
    mask_edge : float
        Width in pixels of the soft rim of ellipse and rhombus masks (see
        :func:`patch_mask`), by default 1.0; 0 gives hard binary masks.
    reference_size : float
        Frame size at which the pixel quantities are given, by default 112.

    Raises
    ------
    ValueError
        If a setting is out of range; the message names it.
    """

    num_patches: int = 3
    scales: tuple[float, ...] = PATCH_SCALES_AT_112
    aspect_range: tuple[float, float] = (0.5, 2.0)
    max_speed: float = 3.0
    max_log_size_change: float = 0.025
    key_frames: tuple[int, int] = (2, 4)
    shapes: tuple[str, ...] = MASK_SHAPES
    mask_edge: float = 1.0
    reference_size: float = 112

    def __post_init__(self) -> None:
        if isinstance(self.num_patches, bool) or not isinstance(
            self.num_patches, int | np.integer
        ):
            raise ValueError(f"num_patches must be an int, got {self.num_patches!r}")
        if self.num_patches < 0:
            raise ValueError(f"num_patches must be >= 0, got {self.num_patches}")
        if len(self.scales) == 0 or any(not s > 0 for s in self.scales):
            raise ValueError(f"scales must be positive numbers, got {self.scales!r}")
        if len(self.aspect_range) != 2 or not 0 < self.aspect_range[0]:
            raise ValueError(
                f"aspect_range must be (low, high) with 0 < low <= high, got "
                f"{self.aspect_range!r}"
            )
        if not self.aspect_range[0] <= self.aspect_range[1]:
            raise ValueError(
                f"aspect_range must be (low, high) with 0 < low <= high, got "
                f"{self.aspect_range!r}"
            )
        if not self.max_speed >= 0:
            raise ValueError(f"max_speed must be >= 0, got {self.max_speed}")
        if not self.max_log_size_change >= 0:
            raise ValueError(
                f"max_log_size_change must be >= 0, got {self.max_log_size_change}"
            )
        if len(self.key_frames) != 2 or not 2 <= self.key_frames[0]:
            raise ValueError(
                f"key_frames must be (low, high) with 2 <= low <= high, got "
                f"{self.key_frames!r}"
            )
        if not self.key_frames[0] <= self.key_frames[1]:
            raise ValueError(
                f"key_frames must be (low, high) with 2 <= low <= high, got "
                f"{self.key_frames!r}"
            )
        unknown = [s for s in self.shapes if s not in MASK_SHAPES]
        if len(self.shapes) == 0 or unknown:
            raise ValueError(
                f"shapes must be a non-empty subset of {MASK_SHAPES}, got "
                f"{self.shapes!r}"
            )
        if not self.mask_edge >= 0:
            raise ValueError(f"mask_edge must be >= 0, got {self.mask_edge}")
        if not self.reference_size > 0:
            raise ValueError(f"reference_size must be > 0, got {self.reference_size}")


_DEFAULT_SETTINGS = CtPAugmentSettings()


def _check_frame_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    if len(frame_size) != 2:
        raise ValueError(f"frame_size must be (height, width), got {frame_size!r}")
    height, width = (int(v) for v in frame_size)
    if height < 1 or width < 1:
        raise ValueError(f"frame_size must be positive, got {frame_size!r}")
    return height, width


def _segment_of_step(
    num_frames: int, rng: np.random.Generator, settings: CtPAugmentSettings
) -> tuple[np.ndarray, int]:
    """Draw the key frames; return the segment index of each step and the count.

    Step ``t`` (``t = 1 .. num_frames - 1``) moves from frame ``t - 1`` to frame
    ``t``; a new segment starts at each interior key frame ``k`` (with the step
    from ``k`` to ``k + 1``).
    """
    low, high = settings.key_frames
    num_keys = int(rng.integers(low, high + 1))
    num_interior = min(num_keys - 2, max(num_frames - 2, 0))
    interior = np.sort(
        rng.choice(np.arange(1, num_frames - 1), num_interior, replace=False)
    )
    steps = np.arange(1, num_frames)
    return np.searchsorted(interior, steps - 1, side="right"), num_interior + 1


def _reflect(value: float, rate: float, low: float, high: float) -> tuple[float, float]:
    """Move ``value`` by ``rate`` inside ``[low, high]``, reflecting at the ends.

    ``value`` must lie in ``[low, high]``. Returns the new value and the new rate
    (its sign flipped when a reflection happened). The move is never longer
    than ``|rate|``.
    """
    new = value + rate
    if new > high:
        new, rate = 2.0 * high - new, -rate
    elif new < low:
        new, rate = 2.0 * low - new, -rate
    return min(max(new, low), high), rate


def sample_trajectory(
    num_frames: int,
    frame_size: tuple[int, int],
    rng: np.random.Generator,
    settings: CtPAugmentSettings = _DEFAULT_SETTINGS,
) -> np.ndarray:
    """Draw the smooth random trajectory of one patch box.

    The initial box has a scale drawn from ``settings.scales`` and an aspect
    ratio drawn log-uniformly from ``settings.aspect_range`` (both sides clamped
    to ``[1, frame side]``) and a uniform position inside the frame. The
    trajectory is piecewise as described in the module docstring: on each step
    the centre first moves by the segment's velocity, reflected at the borders
    of the region where the current box fits, then the log width and log height
    change by the segment's rates, limited so that the box stays inside the
    frame and at least 1 px wide and high (a rate that hits a limit is
    reversed).

    Parameters
    ----------
    num_frames : int
        Clip length T (>= 1).
    frame_size : tuple[int, int]
        ``(height, width)`` of the frames in pixels.
    rng : np.random.Generator
        The only source of randomness.
    settings : CtPAugmentSettings, optional
        Scales, speed and size-change bounds; pixel quantities are multiplied
        by ``min(height, width) / settings.reference_size``.

    Returns
    -------
    np.ndarray
        float32 ``(T, 4)`` boxes ``(x1, y1, x2, y2)`` with
        ``0 <= x1 < x2 <= width`` and ``0 <= y1 < y2 <= height``. Between two
        consecutive frames the centre moves by at most
        ``max_speed * min(height, width) / reference_size`` (Euclidean norm) and
        ``|log(w_t / w_{t-1})|``, ``|log(h_t / h_{t-1})|`` are at most
        ``max_log_size_change`` (up to float32 rounding).

    Raises
    ------
    ValueError
        If `num_frames` < 1 or `frame_size` is not positive.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    height, width = _check_frame_size(frame_size)
    limits = np.array([width, height], dtype=np.float64)  # (x, y) order below
    pixel = min(height, width) / settings.reference_size

    scale = float(rng.choice(np.asarray(settings.scales, dtype=np.float64))) * pixel
    log_aspect = rng.uniform(*np.log(np.asarray(settings.aspect_range, np.float64)))
    root = math.exp(0.5 * log_aspect)
    size = np.clip([scale * root, scale / root], np.minimum(_MIN_SIDE, limits), limits)
    centre = rng.uniform(size / 2.0, limits - size / 2.0)

    segment_of_step, num_segments = _segment_of_step(num_frames, rng, settings)
    max_speed = settings.max_speed * pixel
    max_rate = settings.max_log_size_change
    speed = rng.uniform(0.0, max_speed, num_segments)
    angle = rng.uniform(0.0, 2.0 * math.pi, num_segments)
    velocities = np.stack([speed * np.cos(angle), speed * np.sin(angle)], axis=1)
    size_rates = rng.uniform(-max_rate, max_rate, (num_segments, 2))

    centres = np.empty((num_frames, 2), dtype=np.float64)
    sizes = np.empty((num_frames, 2), dtype=np.float64)
    centres[0], sizes[0] = centre, size
    log_size = np.log(size)
    current = -1
    for t in range(1, num_frames):
        segment = int(segment_of_step[t - 1])
        if segment != current:  # a key frame: the segment's rates start here
            current = segment
            velocity = velocities[segment].copy()
            rate = size_rates[segment].copy()
        for axis in range(2):
            half = 0.5 * math.exp(log_size[axis])
            centre[axis], velocity[axis] = _reflect(
                centre[axis], velocity[axis], half, limits[axis] - half
            )
            # The box may grow only as far as the frame border nearest the centre.
            room = 2.0 * min(centre[axis], limits[axis] - centre[axis])
            high = math.log(min(room, limits[axis]))
            low = min(math.log(_MIN_SIDE), log_size[axis])
            new = log_size[axis] + rate[axis]
            if new > high or new < low:
                rate[axis] = -rate[axis]
            log_size[axis] = min(max(new, low), high)
        centres[t], sizes[t] = centre, np.exp(log_size)

    boxes = np.concatenate([centres - sizes / 2.0, centres + sizes / 2.0], axis=1)
    np.clip(boxes, 0.0, np.concatenate([limits, limits]), out=boxes)
    return boxes.astype(np.float32)


def patch_mask(
    shape_name: str, height: int, width: int, edge: float = 1.0
) -> np.ndarray:
    """Render the alpha mask of a patch shape filling a ``height x width`` box.

    With normalised pixel-centre coordinates ``u, v`` in (-1, 1) across the box,
    the shape is ``max(|u|, |v|) <= 1`` (rectangle, i.e. the whole box),
    ``u**2 + v**2 <= 1`` (ellipse) or ``|u| + |v| <= 1`` (rhombus). Ellipse and
    rhombus get a linear rim about `edge` pixels wide (measured along the
    shorter side), like an anti-aliased edge.

    Parameters
    ----------
    shape_name : str
        One of :data:`MASK_SHAPES`.
    height, width : int
        Mask size in pixels (>= 1).
    edge : float, optional
        Width of the soft rim in pixels, by default 1.0; 0 gives a binary mask.

    Returns
    -------
    np.ndarray
        float32 ``(height, width)`` with values in [0, 1]: 1 inside the shape
        (the rectangle is all ones), 0 outside it.

    Raises
    ------
    ValueError
        For an unknown shape, a size < 1 or a negative `edge`.
    """
    if shape_name not in MASK_SHAPES:
        raise ValueError(
            f"unknown patch shape {shape_name!r}; use one of {MASK_SHAPES}"
        )
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be >= 1, got {height}x{width}")
    if edge < 0:
        raise ValueError(f"mask edge must be >= 0, got {edge}")
    if shape_name == "rectangle":
        return np.ones((height, width), dtype=np.float32)
    v = (np.arange(height, dtype=np.float64)[:, None] + 0.5) * (2.0 / height) - 1.0
    u = (np.arange(width, dtype=np.float64)[None, :] + 0.5) * (2.0 / width) - 1.0
    radius = np.sqrt(u**2 + v**2) if shape_name == "ellipse" else np.abs(u) + np.abs(v)
    if edge == 0:
        return (radius <= 1.0).astype(np.float32)
    # (1 - radius) * half-side is roughly the distance to the rim in pixels.
    half = 0.5 * min(height, width)
    alpha = np.clip((1.0 - radius) * half / edge + 0.5, 0.0, 1.0)
    return alpha.astype(np.float32)


def _resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resize ``(h, w, C)`` to ``(height, width, C)``, in its dtype.

    Same sampling as ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)`` without antialiasing: output pixel ``i`` samples the
    input at ``(i + 0.5) * in / out - 0.5``, clamped to the valid range.
    """
    in_h, in_w = image.shape[:2]
    if (in_h, in_w) == (height, width):
        return image.copy()

    def _taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out)
        pos = np.maximum(pos - 0.5, 0.0)
        lo = np.minimum(np.floor(pos).astype(np.int64), size_in - 1)
        hi = np.minimum(lo + 1, size_in - 1)
        return lo, hi, (pos - lo).astype(image.dtype)

    y0, y1, wy = _taps(in_h, height)
    x0, x1, wx = _taps(in_w, width)
    wy, wx = wy[:, None, None], wx[None, :, None]
    rows0, rows1 = image[y0], image[y1]
    top = rows0[:, x0] * (1 - wx) + rows0[:, x1] * wx
    bottom = rows1[:, x0] * (1 - wx) + rows1[:, x1] * wx
    return top * (1 - wy) + bottom * wy


def _round_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Round continuous boxes to integer ones, each side >= 1 px, inside the frame."""
    rounded = np.floor(boxes.astype(np.float64) + 0.5)
    for lo, hi, limit in ((0, 2, width), (1, 3, height)):
        rounded[:, lo] = np.clip(rounded[:, lo], 0, limit - 1)
        rounded[:, hi] = np.clip(
            np.maximum(rounded[:, hi], rounded[:, lo] + 1), 1, limit
        )
    return rounded


def paste_moving_patches(
    clip: np.ndarray,
    rng: np.random.Generator,
    settings: CtPAugmentSettings = _DEFAULT_SETTINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste CtP moving patches into a clip and return their boxes.

    For each patch (in order; a later patch covers an earlier one):

    1. a trajectory is drawn with :func:`sample_trajectory` and rounded to
       integer boxes (each edge to the nearest integer, at least 1 px wide);
    2. a mask shape is drawn from ``settings.shapes``;
    3. the patch is cut once from a random frame of the clip at a random
       position, with the size of its frame-0 box;
    4. on every frame ``t`` the patch is resized bilinearly to the box size at
       ``t`` (see ``torch.nn.functional.interpolate(mode="bilinear",
       align_corners=False)``) and alpha-blended into ``frame[y1:y2, x1:x2]``
       with :func:`patch_mask` rendered at that size.

    Pixels outside the returned boxes are never modified.

    Parameters
    ----------
    clip : np.ndarray
        Floating ``(T, H, W, 3)`` frames, values in [0, 1]; not modified.
    rng : np.random.Generator
        The only source of randomness; the result is a function of its state.
    settings : CtPAugmentSettings, optional
        Augmentation settings, by default the paper's.

    Returns
    -------
    augmented : np.ndarray
        New array, same shape and dtype as `clip`.
    boxes : np.ndarray
        float32 ``(P, T, 4)`` integer-valued boxes ``(x1, y1, x2, y2)``, exactly
        the pixel rectangles ``[y1:y2, x1:x2]`` the patches were rendered into
        (``P = settings.num_patches``).

    Raises
    ------
    ValueError
        If `clip` is not a floating ``(T, H, W, 3)`` array with T, H, W >= 1.
    """
    clip = np.asarray(clip)
    if clip.ndim != 4 or clip.shape[-1] != 3 or min(clip.shape) < 1:
        raise ValueError(
            f"paste_moving_patches expects a clip (T, H, W, 3), got shape {clip.shape}"
        )
    if not np.issubdtype(clip.dtype, np.floating):
        raise ValueError(
            f"paste_moving_patches expects float frames in [0, 1], got {clip.dtype}"
        )
    num_frames, height, width, _ = clip.shape
    out = clip.copy()
    all_boxes = np.empty((settings.num_patches, num_frames, 4), dtype=np.float32)
    for p in range(settings.num_patches):
        boxes = _round_boxes(
            sample_trajectory(num_frames, (height, width), rng, settings), height, width
        ).astype(np.int64)
        shape_name = settings.shapes[int(rng.integers(len(settings.shapes)))]
        patch_w, patch_h = boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1]
        source = int(rng.integers(num_frames))
        top = int(rng.integers(height - patch_h + 1))
        left = int(rng.integers(width - patch_w + 1))
        patch = clip[source, top : top + patch_h, left : left + patch_w]
        for t, (x1, y1, x2, y2) in enumerate(boxes):
            h, w = int(y2 - y1), int(x2 - x1)
            resized = _resize_bilinear(patch, h, w)
            alpha = patch_mask(shape_name, h, w, settings.mask_edge)[..., None]
            region = out[t, y1:y2, x1:x2]
            region += alpha.astype(out.dtype) * (resized - region)
        all_boxes[p] = boxes
    return out, all_boxes
