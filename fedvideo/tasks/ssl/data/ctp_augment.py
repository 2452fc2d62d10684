"""Catch-the-Patch (CtP) augmentation: moving patches pasted into a clip.

CtP (Wang et al., 2021) is the self-supervised pretext task of FedVSSL: a few
patches, each cut from a frame of the *same* clip, are pasted into the clip and
move along random trajectories; the network must predict where each patch is on
every frame. This module makes the training pairs: :func:`paste_moving_patches`
returns the augmented clip and the box of every patch on every frame (the
regression target of :func:`fedvideo.tasks.ssl.losses.ctp_trajectory_loss`).

The augmentation follows the official implementation (microsoft/CtP,
``PatchMask`` with the settings of its R3D-18 pretraining configs):

* **Boxes.** A patch's first box is an anchor (a scale from
  :data:`PATCH_SCALES_AT_112` times an aspect ratio from
  :data:`PATCH_ASPECT_RATIOS`), each side jittered by a factor
  ``exp(U(-0.18, 0.18))``, at a uniform position.
* **Key frames.** A trajectory is set at a few key frames (the first and last
  frame, plus 0, 1 or 2 inner ones with probabilities 0.5 / 0.3 / 0.2, placed
  evenly with a jitter; :func:`sample_key_frames`) and interpolated in between,
  each segment uniformly (probability 0.7), accelerating (0.15) or
  decelerating (0.15); :func:`interpolate_key_frames`.
* **Motion.** From one key frame to the next the centre moves by a uniform
  shift of at most ``max_speed`` px per frame on each axis (3 px at 112 px),
  kept where the first box fits, and each side is scaled by
  ``exp(U(-0.025, 0.025) * frames)``; location and size have their own key
  frames. Boxes are clipped to the frame.
* **Pasting.** The patch is what its own box covers on a random frame of the
  clip (or, with probability ``solid_prob``, one solid random colour: not
  official, an easier start for a curriculum), resized to the box of every
  frame. It is pasted on the first frame, on
  its source frame and on each other frame with probability 0.8, but its box is
  the target on *every* frame. It is blended with an alpha mask: a rectangle,
  ellipse or rhombus (probabilities 0.5 / 0.35 / 0.15), with soft edges half of
  the time, times an opacity in [0.8, 1.0] that varies smoothly over key frames.
  The largest patch is pasted first, so a small one is never hidden under it.

Conventions
-----------
* Clips are float ``(T, H, W, 3)`` arrays in [0, 1] (H may differ from W).
* Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates: a box covers
  ``[x1, x2) x [y1, y2)``, so its width is ``x2 - x1`` and the integer box
  ``(x1, y1, x2, y2)`` covers the pixels ``frame[y1:y2, x1:x2]``.
* Every pixel quantity of :class:`CtPAugmentSettings` (patch scales, speed) is
  given for a ``reference_size`` (112, the paper's crop) and multiplied by
  ``min(H, W) / reference_size`` for the actual frame.

Everything is drawn from the :class:`numpy.random.Generator` passed in, so the
output is fully determined by the generator's state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "FLAT_BACKGROUND",
    "INTERPOLATIONS",
    "MASK_SHAPES",
    "PATCH_ASPECT_RATIOS",
    "PATCH_SCALES_AT_112",
    "TRAJECTORIES",
    "CtPAugmentSettings",
    "interpolate_key_frames",
    "interpolate_settings",
    "paste_moving_patches",
    "patch_mask",
    "sample_key_frames",
    "sample_trajectory",
]

#: Patch scales of the paper in pixels at a 112 x 112 crop. A patch of scale
#: ``s`` and aspect ratio ``a`` (width / height) is ``s * sqrt(a)`` pixels wide
#: and ``s / sqrt(a)`` pixels high, so its area is ``s**2``.
PATCH_SCALES_AT_112: tuple[int, ...] = (16, 24, 28, 32, 48, 64)

#: Aspect ratios (width / height) of the patch anchors.
PATCH_ASPECT_RATIOS: tuple[float, ...] = (0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0)

#: Mask shapes understood by :func:`patch_mask`.
MASK_SHAPES: tuple[str, ...] = ("rectangle", "ellipse", "rhombus")

#: Ways of moving from one key frame to the next (see :func:`interpolate_key_frames`).
INTERPOLATIONS: tuple[str, ...] = ("uniform", "accelerate", "decelerate")

_CONSTANT_SPEED = (1.0, 0.0, 0.0)

#: The flat background of ``background_contrast = 0``: the ImageNet mean
#: colour that clips are normalised with, i.e. zero input to the network. (A
#: flat background of each clip's own mean colour did not help: on 2 CPU
#: cores the model then stayed at the no-motion guess, see docs/fedvssl.md.)
FLAT_BACKGROUND: tuple[float, float, float] = (0.485, 0.456, 0.406)

#: Trajectory families as ``(key_frame_probs, interpolation_probs)``:
#: ``key-frames`` is the official piecewise motion; ``constant-velocity`` has
#: no inner key frame and uniform interpolation, so a patch moves in a straight
#: line at constant speed (and its sides change at a constant rate) from the
#: first to the last frame.
TRAJECTORIES: dict[str, tuple[tuple[float, ...], tuple[float, float, float]]] = {
    "key-frames": ((0.5, 0.3, 0.2), (0.7, 0.15, 0.15)),
    "constant-velocity": ((1.0,), _CONSTANT_SPEED),
}


def _check_probabilities(
    name: str, values: Sequence[float], length: int | None
) -> None:
    if length is not None and len(values) != length:
        raise ValueError(f"{name} must have {length} entries, got {tuple(values)!r}")
    if len(values) == 0 or any(not p >= 0 for p in values):
        raise ValueError(f"{name} must be non-negative numbers, got {tuple(values)!r}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1, got {tuple(values)!r}")


def _check_range(name: str, values: Sequence[float], low: float, high: float) -> None:
    if len(values) != 2 or not low <= values[0] <= values[1] <= high:
        raise ValueError(
            f"{name} must be (low, high) with {low} <= low <= high <= {high}, got "
            f"{tuple(values)!r}"
        )


@dataclass(frozen=True)
class CtPAugmentSettings:
    """Settings of the CtP augmentation (defaults: the official ones).

    Parameters
    ----------
    num_patches : int
        Patches pasted into each clip (>= 0), by default 3.
    scales : tuple[float, ...]
        Patch scales (square root of the area) in pixels at `reference_size`,
        by default :data:`PATCH_SCALES_AT_112`.
    aspect_ratios : tuple[float, ...]
        Aspect ratios width / height, by default :data:`PATCH_ASPECT_RATIOS`;
        every (scale, ratio) pair is an equally likely anchor.
    scale_jitter : float
        Each side of the first box is multiplied by ``exp(U(-j, j))``, by
        default 0.18.
    max_speed : float
        Largest shift of a box centre per frame on each axis, in pixels at
        `reference_size`, by default 3.0.
    max_log_size_change : float
        Largest ``|log|`` of the factor by which a side changes per frame, by
        default 0.025.
    key_frame_probs : tuple[float, ...]
        Probabilities of 0, 1, 2, ... inner key frames, by default
        ``(0.5, 0.3, 0.2)``.
    interpolation_probs : tuple[float, float, float]
        Probabilities of the :data:`INTERPOLATIONS` for each segment between
        two key frames, by default ``(0.7, 0.15, 0.15)``.
    paste_prob : float
        Probability that a patch is pasted on a frame other than the first and
        its source frame, by default 0.8.
    opacity_range : tuple[float, float]
        Range of the patch opacity drawn at each key frame, by default
        ``(0.8, 1.0)``.
    shape_probs : tuple[float, float, float]
        Probabilities of the :data:`MASK_SHAPES`, by default
        ``(0.5, 0.35, 0.15)``.
    soft_edge_prob : float
        Probability that a mask gets a soft edge, by default 0.5.
    soft_edge_start : tuple[float, float]
        Range of the normalised distance from the centre where a soft edge
        starts to fade (it reaches 0 at 0.5, the rim), by default
        ``(0.30, 0.45)``.
    reference_size : float
        Frame size at which the pixel quantities are given, by default 112.
    solid_prob : float
        Probability that a patch is one solid random colour instead of being
        cut from the clip, by default 0 (official: always cut from the clip).
        Solid patches stand out from any background, which makes the pretext
        task easier to start on (see :func:`interpolate_settings`).
    background_contrast : float
        The clip's frames are pasted on as ``g + c (frame - g)``, with ``g``
        the grey :data:`FLAT_BACKGROUND` and ``c`` this contrast in [0, 1], by
        default 1 (official: the frames as they are). 0 pastes the patches on
        a flat grey that the ImageNet normalisation turns into zero input,
        the easiest start for a curriculum; patches cut from the clip keep
        their full contrast.

    Raises
    ------
    ValueError
        If a setting is out of range; the message names it.
    """

    num_patches: int = 3
    scales: tuple[float, ...] = PATCH_SCALES_AT_112
    aspect_ratios: tuple[float, ...] = PATCH_ASPECT_RATIOS
    scale_jitter: float = 0.18
    max_speed: float = 3.0
    max_log_size_change: float = 0.025
    key_frame_probs: tuple[float, ...] = (0.5, 0.3, 0.2)
    interpolation_probs: tuple[float, float, float] = (0.7, 0.15, 0.15)
    paste_prob: float = 0.8
    opacity_range: tuple[float, float] = (0.8, 1.0)
    shape_probs: tuple[float, float, float] = (0.5, 0.35, 0.15)
    soft_edge_prob: float = 0.5
    soft_edge_start: tuple[float, float] = (0.30, 0.45)
    reference_size: float = 112
    solid_prob: float = 0.0
    background_contrast: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.num_patches, bool) or not isinstance(
            self.num_patches, int | np.integer
        ):
            raise ValueError(f"num_patches must be an int, got {self.num_patches!r}")
        if self.num_patches < 0:
            raise ValueError(f"num_patches must be >= 0, got {self.num_patches}")
        for name in ("scales", "aspect_ratios"):
            values = getattr(self, name)
            if len(values) == 0 or any(not v > 0 for v in values):
                raise ValueError(f"{name} must be positive numbers, got {values!r}")
        for name in ("scale_jitter", "max_speed", "max_log_size_change"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        _check_probabilities("key_frame_probs", self.key_frame_probs, None)
        _check_probabilities("interpolation_probs", self.interpolation_probs, 3)
        _check_probabilities("shape_probs", self.shape_probs, 3)
        for name in (
            "paste_prob",
            "soft_edge_prob",
            "solid_prob",
            "background_contrast",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        _check_range("opacity_range", self.opacity_range, 0.0, 1.0)
        _check_range("soft_edge_start", self.soft_edge_start, 0.0, 0.5)
        if self.soft_edge_start[1] >= 0.5:
            raise ValueError(
                f"soft_edge_start must stay below 0.5 (the rim), got "
                f"{self.soft_edge_start!r}"
            )
        if not self.reference_size > 0:
            raise ValueError(f"reference_size must be > 0, got {self.reference_size}")


_DEFAULT_SETTINGS = CtPAugmentSettings()

#: Settings that :func:`interpolate_settings` mixes; the others come from `hard`.
_MIXED_NUMBERS = (
    "max_speed",
    "max_log_size_change",
    "paste_prob",
    "soft_edge_prob",
    "solid_prob",
    "background_contrast",
)
_MIXED_RANGES = ("opacity_range",)
_MIXED_PROBABILITIES = (
    "key_frame_probs",
    "interpolation_probs",
    "shape_probs",
)


def _mix(easy: Sequence[float], hard: Sequence[float], weight: float) -> tuple:
    """``(1 - weight) * easy + weight * hard``, the shorter one padded with zeros."""
    length = max(len(easy), len(hard))
    easy = tuple(easy) + (0.0,) * (length - len(easy))
    hard = tuple(hard) + (0.0,) * (length - len(hard))
    return tuple(
        (1.0 - weight) * e + weight * h for e, h in zip(easy, hard, strict=True)
    )


def interpolate_settings(
    easy: CtPAugmentSettings, hard: CtPAugmentSettings, difficulty: float
) -> CtPAugmentSettings:
    """Mix `easy` (difficulty 0) into `hard` (difficulty 1) settings.

    Every setting that is a magnitude or a probability moves linearly:
    ``(1 - d) * easy + d * hard`` for the patch speed, the size-change rate,
    the pasting, soft-edge and solid-patch probabilities, the background
    contrast and both ends of the opacity range; the probability vectors of
    the key frames, interpolations and mask shapes are mixed the same way
    (the shorter one padded with zeros), so e.g. a patch follows the `hard`
    trajectory family with probability ``d``. The anchors (scales, aspect
    ratios, jitter), the number of patches and the reference size are those
    of `hard`.

    Parameters
    ----------
    easy, hard : CtPAugmentSettings
        The two ends of the curriculum.
    difficulty : float
        In [0, 1].

    Returns
    -------
    CtPAugmentSettings
        `easy` mixed into `hard`; exactly `hard` at difficulty 1, and `easy`
        with `hard`'s anchors at difficulty 0.

    Raises
    ------
    ValueError
        If `difficulty` is outside [0, 1].

    Examples
    --------
    >>> easy = CtPAugmentSettings(max_speed=6.0, solid_prob=1.0)
    >>> half = interpolate_settings(easy, CtPAugmentSettings(), 0.5)
    >>> half.max_speed, half.solid_prob
    (4.5, 0.5)
    """
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    if difficulty == 1.0:
        return hard
    changes: dict[str, object] = {}
    for name in _MIXED_NUMBERS:
        changes[name] = _mix([getattr(easy, name)], [getattr(hard, name)], difficulty)[
            0
        ]
    for name in _MIXED_RANGES + _MIXED_PROBABILITIES:
        changes[name] = _mix(getattr(easy, name), getattr(hard, name), difficulty)
    # Keep the range ordered and the probabilities summing to 1 despite rounding.
    low, high = changes["opacity_range"]
    changes["opacity_range"] = (min(low, high), high)
    for name in _MIXED_PROBABILITIES:
        values = changes[name]
        changes[name] = tuple(v / sum(values) for v in values)
    return replace(hard, **changes)


def _check_frame_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    if len(frame_size) != 2:
        raise ValueError(f"frame_size must be (height, width), got {frame_size!r}")
    height, width = (int(v) for v in frame_size)
    if height < 1 or width < 1:
        raise ValueError(f"frame_size must be positive, got {frame_size!r}")
    return height, width


def sample_key_frames(
    num_frames: int, probs: Sequence[float], rng: np.random.Generator
) -> np.ndarray:
    """Draw the key frames of a clip: the first, the last and a few inner ones.

    The number of inner key frames ``k`` is drawn with probabilities `probs`
    (``probs[k]``); they are placed at ``floor(i * T / (k + 1))``,
    ``i = 1 .. k``, each moved by a jitter drawn uniformly from
    ``{-j, ..., j - 1}`` with ``j = floor(T / (3 (k + 1)))``. Duplicates are
    merged, so fewer may come out.

    Parameters
    ----------
    num_frames : int
        Clip length T (>= 1).
    probs : Sequence[float]
        Probabilities of 0, 1, 2, ... inner key frames (summing to 1).
    rng : np.random.Generator
        The only source of randomness.

    Returns
    -------
    np.ndarray
        Sorted unique int64 frame indices, starting at 0 and ending at
        ``T - 1`` (just ``[0]`` for a single frame).

    Raises
    ------
    ValueError
        If `num_frames` < 1.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    num_inner = int(rng.choice(len(probs), p=np.asarray(probs, dtype=np.float64)))
    if num_frames == 1:
        return np.zeros(1, dtype=np.int64)
    if num_inner == 0:
        return np.array([0, num_frames - 1], dtype=np.int64)
    spacing = num_frames / (num_inner + 1)
    ticks = np.array([int(spacing * i) for i in range(1, num_inner + 1)], np.int64)
    jitter = int(spacing / 3)
    if jitter > 0:
        ticks = ticks + rng.integers(-jitter, jitter, size=num_inner)
    ticks = np.concatenate([ticks, [0, num_frames - 1]])
    return np.unique(np.clip(ticks, 0, num_frames - 1))


def interpolate_key_frames(
    values: np.ndarray, key_frames: np.ndarray, kinds: Sequence[str]
) -> np.ndarray:
    """Fill in the values between key frames.

    Between key frames ``a < b`` with values ``va`` and ``vb`` (``d = b - a``,
    ``k = 0 .. d``) the value at ``a + k`` is

    * ``uniform``: ``va + (vb - va) k / d`` (constant speed);
    * ``accelerate``: ``va + (vb - va) (k / d)**2`` (starting at rest);
    * ``decelerate``: ``vb - (vb - va) (1 - k / d)**2`` (coming to rest).

    Parameters
    ----------
    values : np.ndarray
        ``(K, ...)`` values at the key frames.
    key_frames : np.ndarray
        ``(K,)`` strictly increasing frame indices starting at 0.
    kinds : Sequence[str]
        ``K - 1`` entries of :data:`INTERPOLATIONS`, one per segment.

    Returns
    -------
    np.ndarray
        ``(key_frames[-1] + 1, ...)`` values on every frame, float64.

    Raises
    ------
    ValueError
        If the lengths do not match, the key frames do not start at 0 or do
        not increase, or a kind is unknown.
    """
    values = np.asarray(values, dtype=np.float64)
    key_frames = np.asarray(key_frames)
    if len(values) != len(key_frames) or len(kinds) != len(key_frames) - 1:
        raise ValueError(
            f"need one value per key frame and one kind per segment, got "
            f"{len(values)} values, {len(key_frames)} key frames, {len(kinds)} kinds"
        )
    if key_frames[0] != 0 or (np.diff(key_frames) <= 0).any():
        raise ValueError(
            f"key frames must start at 0 and increase, got {key_frames.tolist()}"
        )
    out = np.empty((int(key_frames[-1]) + 1,) + values.shape[1:], dtype=np.float64)
    out[0] = values[0]
    for i, kind in enumerate(kinds):
        start, end = int(key_frames[i]), int(key_frames[i + 1])
        shape = (-1,) + (1,) * (values.ndim - 1)
        frac = (np.arange(1, end - start + 1) / (end - start)).reshape(shape)
        if kind == "uniform":
            progress = frac
        elif kind == "accelerate":
            progress = frac**2
        elif kind == "decelerate":
            progress = 1.0 - (1.0 - frac) ** 2
        else:
            raise ValueError(
                f"unknown interpolation {kind!r}; use one of {INTERPOLATIONS}"
            )
        out[start + 1 : end + 1] = values[i] + (values[i + 1] - values[i]) * progress
    return out


def _key_frame_path(
    start: np.ndarray,
    step: Callable[[np.ndarray, int], np.ndarray],
    num_frames: int,
    rng: np.random.Generator,
    key_frame_probs: Sequence[float],
    interpolation_probs: Sequence[float],
) -> np.ndarray:
    """Values of one quantity on every frame.

    ``step(value, frames)`` gives the value at the next key frame from the one
    at the previous key frame ``frames`` earlier.
    """
    keys = sample_key_frames(num_frames, key_frame_probs, rng)
    values = [start]
    for gap in np.diff(keys):
        values.append(step(values[-1], int(gap)))
    if len(keys) == 1:
        return np.asarray(values, dtype=np.float64)
    kinds = [
        INTERPOLATIONS[int(rng.choice(3, p=interpolation_probs))]
        for _ in range(len(keys) - 1)
    ]
    return interpolate_key_frames(np.stack(values), keys, kinds)


def sample_trajectory(
    num_frames: int,
    frame_size: tuple[int, int],
    rng: np.random.Generator,
    settings: CtPAugmentSettings = _DEFAULT_SETTINGS,
) -> np.ndarray:
    """Draw the random trajectory of one patch box.

    The first box is an anchor (scale times aspect ratio, jittered, each side
    in ``[1, side - 1]``) at a uniform position. The centre is then set at its
    own key frames, each one a uniform shift of at most ``max_speed`` (scaled)
    px per elapsed frame on each axis from the previous one, clipped to where
    the first box fits, and interpolated in between; the sides likewise, each
    scaled by ``exp(U(-r, r) * elapsed frames)`` with
    ``r = max_log_size_change``. The boxes are finally clipped to the frame.

    Parameters
    ----------
    num_frames : int
        Clip length T (>= 1).
    frame_size : tuple[int, int]
        ``(height, width)`` of the frames in pixels.
    rng : np.random.Generator
        The only source of randomness.
    settings : CtPAugmentSettings, optional
        Anchors, speed and size-change bounds; pixel quantities are multiplied
        by ``min(height, width) / settings.reference_size``.

    Returns
    -------
    np.ndarray
        float32 ``(T, 4)`` boxes ``(x1, y1, x2, y2)`` with
        ``0 <= x1 < x2 <= width`` and ``0 <= y1 < y2 <= height``. Between two
        consecutive frames the centre of the unclipped box moves by at most
        the scaled ``max_speed`` on each axis.

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
    ratio = float(rng.choice(np.asarray(settings.aspect_ratios, dtype=np.float64)))
    size = np.array([scale * math.sqrt(ratio), scale / math.sqrt(ratio)])
    jitter = settings.scale_jitter
    size = size * np.exp(rng.uniform(-jitter, jitter, 2))
    size = np.clip(size, 1.0, np.maximum(limits - 1.0, 1.0))
    corner = rng.uniform(0.0, np.maximum(limits - size, 0.0))
    centre = corner + size / 2.0

    speed = settings.max_speed * pixel
    low, high = size / 2.0, np.maximum(limits - size / 2.0, size / 2.0)
    centres = _key_frame_path(
        centre,
        lambda c, gap: np.clip(
            c + rng.uniform(-speed * gap, speed * gap, 2), low, high
        ),
        num_frames,
        rng,
        settings.key_frame_probs,
        settings.interpolation_probs,
    )
    rate = settings.max_log_size_change
    sizes = _key_frame_path(
        size,
        lambda s, gap: s * np.exp(rng.uniform(-rate * gap, rate * gap, 2)),
        num_frames,
        rng,
        settings.key_frame_probs,
        settings.interpolation_probs,
    )
    boxes = np.concatenate([centres - sizes / 2.0, centres + sizes / 2.0], axis=1)
    np.clip(boxes, 0.0, np.concatenate([limits, limits]), out=boxes)
    return boxes.astype(np.float32)


def patch_mask(
    shape_name: str, height: int, width: int, soft_edge_start: float | None = None
) -> np.ndarray:
    """Render the alpha mask of a patch shape filling a ``height x width`` box.

    With ``dx = |x - W/2| / W`` and ``dy = |y - H/2| / H`` at the pixel centres
    (0 at the centre, 0.5 at the box edge), the shape is every pixel with a
    distance below 0.5: the Chebyshev distance ``max(dx, dy)`` for the
    rectangle (the whole box), the Euclidean ``sqrt(dx**2 + dy**2)`` for the
    ellipse and ``dx + dy`` for the rhombus. A soft edge multiplies the mask by
    ``clip((0.5 - d) / (0.5 - soft_edge_start), 0, 1)``: 1 up to
    `soft_edge_start`, fading linearly to 0 at the rim.

    Parameters
    ----------
    shape_name : str
        One of :data:`MASK_SHAPES`.
    height, width : int
        Mask size in pixels (>= 1).
    soft_edge_start : float or None, optional
        Where the soft edge starts, in [0, 0.5); None for a hard edge.

    Returns
    -------
    np.ndarray
        float32 ``(height, width)`` with values in [0, 1].

    Raises
    ------
    ValueError
        For an unknown shape, a size < 1 or a soft edge start outside [0, 0.5).
    """
    if shape_name not in MASK_SHAPES:
        raise ValueError(
            f"unknown patch shape {shape_name!r}; use one of {MASK_SHAPES}"
        )
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be >= 1, got {height}x{width}")
    if soft_edge_start is not None and not 0 <= soft_edge_start < 0.5:
        raise ValueError(f"soft_edge_start must be in [0, 0.5), got {soft_edge_start}")
    dy = (
        np.abs(np.arange(height, dtype=np.float64)[:, None] + 0.5 - height / 2) / height
    )
    dx = np.abs(np.arange(width, dtype=np.float64)[None, :] + 0.5 - width / 2) / width
    if shape_name == "rectangle":
        distance = np.maximum(dx, dy)
        mask = np.ones((height, width))
    else:
        distance = np.sqrt(dx**2 + dy**2) if shape_name == "ellipse" else dx + dy
        mask = (distance < 0.5).astype(np.float64)
    if soft_edge_start is not None:
        mask = mask * np.clip((0.5 - distance) / (0.5 - soft_edge_start), 0.0, 1.0)
    return mask.astype(np.float32)


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


@dataclass(frozen=True)
class _Patch:
    """Everything drawn for one patch before it is pasted."""

    boxes: np.ndarray  # (T, 4) int64
    pixels: np.ndarray  # (h, w, 3), cut from the source frame
    shape: str
    soft_edge_start: float | None
    opacity: np.ndarray  # (T,)
    pasted: np.ndarray  # (T,) bool


def _draw_patch(
    clip: np.ndarray, rng: np.random.Generator, settings: CtPAugmentSettings
) -> _Patch:
    num_frames, height, width, _ = clip.shape
    boxes = _round_boxes(
        sample_trajectory(num_frames, (height, width), rng, settings), height, width
    ).astype(np.int64)
    source = int(rng.integers(num_frames))
    x1, y1, x2, y2 = boxes[source]
    pixels = clip[source, y1:y2, x1:x2]
    # Drawn only when enabled, so the official settings keep their random stream.
    if settings.solid_prob > 0 and rng.random() < settings.solid_prob:
        colour = rng.uniform(0.0, 1.0, 3).astype(clip.dtype)
        pixels = np.broadcast_to(colour, pixels.shape)
    shape = MASK_SHAPES[int(rng.choice(3, p=settings.shape_probs))]
    soft = None
    if rng.random() < settings.soft_edge_prob:
        soft = float(rng.uniform(*settings.soft_edge_start))
    opacity = _key_frame_path(
        np.array(rng.uniform(*settings.opacity_range)),
        lambda _, gap: np.array(rng.uniform(*settings.opacity_range)),
        num_frames,
        rng,
        settings.key_frame_probs,
        _CONSTANT_SPEED,  # the opacity changes at constant speed
    )
    draws = rng.uniform(0.0, 1.0, num_frames)
    draws[[0, source]] = 0.0
    return _Patch(boxes, pixels, shape, soft, opacity, draws <= settings.paste_prob)


def paste_moving_patches(
    clip: np.ndarray,
    rng: np.random.Generator,
    settings: CtPAugmentSettings = _DEFAULT_SETTINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste CtP moving patches into a clip and return their boxes.

    Each patch gets a trajectory (:func:`sample_trajectory`, rounded to
    integer boxes at least 1 px wide), a source frame whose box content is the
    patch, a mask shape with or without a soft edge, an opacity per frame and
    the frames it is pasted on (see the module docstring). Patches are pasted
    largest first (by the product of their mean width and mean height); on
    each frame the patch is resized bilinearly to the frame's box (as
    ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``)
    and blended into ``frame[y1:y2, x1:x2]`` with its mask times its opacity.

    Pixels outside the returned boxes are never modified, except that the
    whole clip is first flattened towards :data:`FLAT_BACKGROUND` when
    ``settings.background_contrast`` < 1.

    Parameters
    ----------
    clip : np.ndarray
        Floating ``(T, H, W, 3)`` frames, values in [0, 1]; not modified.
    rng : np.random.Generator
        The only source of randomness; the result is a function of its state.
    settings : CtPAugmentSettings, optional
        Augmentation settings, by default the official ones.

    Returns
    -------
    augmented : np.ndarray
        New array, same shape and dtype as `clip`.
    boxes : np.ndarray
        float32 ``(P, T, 4)`` integer-valued boxes ``(x1, y1, x2, y2)`` of every
        patch on every frame, pasted there or not: the regression targets
        (``P = settings.num_patches``, in the order drawn).

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
    patches = [_draw_patch(clip, rng, settings) for _ in range(settings.num_patches)]
    out = clip.copy()
    if settings.background_contrast < 1.0:
        grey = np.asarray(FLAT_BACKGROUND, dtype=clip.dtype)
        out = grey + clip.dtype.type(settings.background_contrast) * (out - grey)
    mean_areas = [
        float(np.prod((p.boxes[:, 2:] - p.boxes[:, :2]).mean(axis=0))) for p in patches
    ]
    for index in np.argsort(mean_areas, kind="stable")[::-1]:
        patch = patches[index]
        for t in np.flatnonzero(patch.pasted):
            x1, y1, x2, y2 = patch.boxes[t]
            h, w = int(y2 - y1), int(x2 - x1)
            resized = _resize_bilinear(patch.pixels, h, w)
            alpha = patch_mask(patch.shape, h, w, patch.soft_edge_start)
            alpha = (alpha * patch.opacity[t])[..., None].astype(out.dtype)
            region = out[t, y1:y2, x1:x2]
            region += alpha * (resized - region)
    boxes = (
        np.stack([p.boxes for p in patches]) if patches else np.empty((0, len(clip), 4))
    )
    return out, boxes.astype(np.float32)
