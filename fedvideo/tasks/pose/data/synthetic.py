"""Embedded synthetic pose data: articulated stick figures with the MPII joints.

Every image shows one figure rendered with NumPy and Pillow from a seeded
generator; image ``i`` of seed ``s`` depends only on ``(s, i)`` and the image
size.

* **Skeleton.** A kinematic tree with the 16 MPII joints: pelvis (root) ->
  hips -> knees -> ankles; pelvis -> thorax -> upper neck -> head top;
  thorax -> shoulders -> elbows -> wrists. Segment lengths are fractions of the
  person's height (thigh and shin 0.25, spine 0.27, neck 0.06, head 0.13, upper
  arm 0.17, forearm 0.15, half hip width 0.085, half shoulder width 0.11),
  each scaled by 0.85-1.15 per figure; with probability 0.3 a limb segment is
  foreshortened to 55-100 %. The spine leans by up to 20 degrees, the arms
  swing from across the body to above the head (-30 to 170 degrees from
  hanging down) with elbows bent up to 150 degrees either way, the legs spread
  by -20 to 50 degrees (kicks to 100 degrees with probability 0.15) with knees
  bent up to 110 degrees either way. The figure faces the viewer or turns its
  back (its right side on the image's left or right, with probability 1/2
  each), so that left and right can only be told apart by colour.
* **Placement.** The person's height is 45-80 % of the image, the whole figure
  is tilted by up to 25 degrees, and the joints' bounding box is placed at a
  random position with at most 8 % of its size outside the image.
* **Drawing.** Limbs are thick lines with round ends (thickness 6.5 % of the
  person's height for legs, 5 % for arms and neck), each in its own saturated
  colour of :data:`PART_COLOURS`, warm colours on the right side and cold ones
  on the left. The torso is a filled polygon over hips and shoulders, the head
  a white ellipse around the upper neck -> head top segment (10 % longer than
  it, 75 % as wide). Legs are drawn first, then torso, neck, head and arms.
* **Background.** A muted base colour with two octaves of low-frequency colour
  noise (random 3x3-5x5 and 8x8 grids, bicubically upsampled) and 3-6 muted
  rectangles, ellipses or thick lines as distractors. Muted colours (channels
  within 40-215, spread below 60) never match the figure's.
* **Occlusion.** With probability 0.2 a muted rectangle (20-45 % of the
  person's height per side) covers part of the figure.

Annotations follow MPII: joints are the exact drawing coordinates (0-based,
pixel centres at integers); a joint is visible when it lies inside the image
and the pixel under it belongs to one of the parts that meet at the joint (so
joints under the occluder or hidden by another limb are not visible).
``center`` is the midpoint of the joints' bounding box, ``box_height`` is 1.25
times the larger of the box's height and 4/3 of its width (a 4:3 ``h:w`` crop
covers the whole figure), and ``head_box`` is the square centred on the head
segment's midpoint with the segment's length as its side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from fedvideo.data.errors import require_int
from fedvideo.tasks.pose.data.datasets import MPII_JOINTS, PoseRecord

__all__ = [
    "JOINT_PARTS",
    "OCCLUDER_LABEL",
    "PART_COLOURS",
    "SyntheticFigure",
    "render_synthetic_figure",
    "synthetic_pose_figure",
    "synthetic_pose_records",
]

#: Colour of each drawn body part (right side warm, left side cold).
PART_COLOURS: dict[str, tuple[int, int, int]] = {
    "torso": (150, 60, 220),
    "neck": (255, 140, 200),
    "head": (250, 250, 250),
    "r_thigh": (255, 40, 40),
    "r_shin": (255, 160, 0),
    "r_upper_arm": (255, 255, 0),
    "r_forearm": (255, 0, 160),
    "l_thigh": (0, 90, 255),
    "l_shin": (0, 220, 255),
    "l_upper_arm": (0, 200, 60),
    "l_forearm": (140, 255, 0),
}

_PARTS = tuple(PART_COLOURS)
#: Label of the occluder in :attr:`SyntheticFigure.labels` (0 is background).
OCCLUDER_LABEL: int = 255

#: The parts that meet at each joint, in :data:`MPII_JOINTS` order.
JOINT_PARTS: tuple[tuple[str, ...], ...] = (
    ("r_shin",),
    ("r_thigh", "r_shin"),
    ("torso", "r_thigh"),
    ("torso", "l_thigh"),
    ("l_thigh", "l_shin"),
    ("l_shin",),
    ("torso",),
    ("torso", "neck"),
    ("neck", "head"),
    ("head",),
    ("r_forearm",),
    ("r_upper_arm", "r_forearm"),
    ("torso", "r_upper_arm"),
    ("torso", "l_upper_arm"),
    ("l_upper_arm", "l_forearm"),
    ("l_forearm",),
)

_J = {name: k for k, name in enumerate(MPII_JOINTS)}

#: Legs and arms, drawn as thick lines: part, first joint, second joint.
_LEGS = (
    ("l_thigh", "l_hip", "l_knee"),
    ("l_shin", "l_knee", "l_ankle"),
    ("r_thigh", "r_hip", "r_knee"),
    ("r_shin", "r_knee", "r_ankle"),
)
_ARMS = (
    ("l_upper_arm", "l_shoulder", "l_elbow"),
    ("l_forearm", "l_elbow", "l_wrist"),
    ("r_upper_arm", "r_shoulder", "r_elbow"),
    ("r_forearm", "r_elbow", "r_wrist"),
)


@dataclass(frozen=True, eq=False)
class SyntheticFigure:
    """One rendered figure with what the renderer knows about it.

    Attributes
    ----------
    record : PoseRecord
        The image (in memory) and its MPII-style annotation.
    labels : numpy.ndarray
        ``(S, S)`` uint8 map of the part drawn at each pixel: ``1 + k`` for
        part ``k`` of :data:`PART_COLOURS`, 255 for the occluder, 0 for the
        background.
    occluder : tuple of int or None
        The occluder rectangle ``x1, y1, x2, y2`` (inclusive pixel bounds), or
        None.
    """

    record: PoseRecord
    labels: np.ndarray
    occluder: tuple[int, int, int, int] | None


def _direction(angle: float) -> np.ndarray:
    """Return the unit vector ``angle`` degrees clockwise from up (rows grow down)."""
    radians = math.radians(angle)
    return np.array([math.sin(radians), -math.cos(radians)])


def _skeleton(rng: np.random.Generator) -> np.ndarray:
    """Joints ``(16, 2)`` of a random pose in units of the person's height.

    The pelvis is at the origin and the figure is upright before the tilt.
    """

    def length(base: float, limb: bool = False) -> float:
        value = base * float(rng.uniform(0.85, 1.15))
        if limb and rng.random() < 0.3:
            value *= float(rng.uniform(0.55, 1.0))
        return value

    side = 1.0 if rng.random() < 0.5 else -1.0  # +1: right side on image left
    spine = float(rng.uniform(-20.0, 20.0))
    joints = np.zeros((16, 2))
    hip_width, shoulder_width = length(0.085), length(0.11)
    thigh, shin = length(0.25), length(0.25)
    for name, sign in (("r", 1.0), ("l", -1.0)):
        lateral = spine - sign * side * (90.0 + float(rng.uniform(-10.0, 10.0)))
        joints[_J[f"{name}_hip"]] = hip_width * _direction(lateral)
    joints[_J["thorax"]] = length(0.27) * _direction(spine)
    neck = spine + float(rng.uniform(-15.0, 15.0))
    joints[_J["upper_neck"]] = joints[_J["thorax"]] + length(0.06) * _direction(neck)
    head = neck + float(rng.uniform(-20.0, 20.0))
    joints[_J["head_top"]] = joints[_J["upper_neck"]] + length(0.13) * _direction(head)
    for name, sign in (("r", 1.0), ("l", -1.0)):
        outward = sign * side  # adds to "down" to swing the limb outwards
        drop = 90.0 + float(rng.uniform(0.0, 20.0))
        shoulder = joints[_J["thorax"]] + shoulder_width * _direction(
            spine - outward * drop
        )
        joints[_J[f"{name}_shoulder"]] = shoulder
        upper = spine + 180.0 + outward * float(rng.uniform(-30.0, 170.0))
        elbow = shoulder + length(0.17, limb=True) * _direction(upper)
        bend = float(rng.uniform(0.0, 150.0)) * (1.0 if rng.random() < 0.5 else -1.0)
        joints[_J[f"{name}_elbow"]] = elbow
        joints[_J[f"{name}_wrist"]] = elbow + length(0.15, limb=True) * _direction(
            upper + bend
        )
        spread = (
            float(rng.uniform(50.0, 100.0))
            if rng.random() < 0.15
            else float(rng.uniform(-20.0, 50.0))
        )
        hip = joints[_J[f"{name}_hip"]]
        thigh_angle = spine + 180.0 + outward * spread
        knee = hip + thigh * (
            float(rng.uniform(0.55, 1.0)) if rng.random() < 0.3 else 1.0
        ) * _direction(thigh_angle)
        knee_bend = float(rng.uniform(0.0, 110.0)) * (
            1.0 if rng.random() < 0.5 else -1.0
        )
        joints[_J[f"{name}_knee"]] = knee
        joints[_J[f"{name}_ankle"]] = knee + shin * (
            float(rng.uniform(0.55, 1.0)) if rng.random() < 0.3 else 1.0
        ) * _direction(thigh_angle + knee_bend)
    return joints


def _muted(rng: np.random.Generator) -> tuple[int, int, int]:
    """Draw a random desaturated colour (channels within 40-215, spread < 60)."""
    grey = float(rng.uniform(70.0, 185.0))
    colour = np.clip(grey + rng.uniform(-25.0, 25.0, size=3), 40, 215)
    return tuple(int(c) for c in colour)  # type: ignore[return-value]


def _noise(rng: np.random.Generator, cells: int, size: int) -> np.ndarray:
    """Low-frequency colour noise: a random grid, bicubically upsampled."""
    grid = rng.uniform(0.0, 255.0, size=(cells, cells, 3)).astype(np.uint8)
    image = Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32) / 255.0 - 0.5


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """Muted colour noise with a few muted distractor shapes."""
    base = np.array(_muted(rng), dtype=np.float32)
    pixels = (
        base
        + float(rng.uniform(30.0, 60.0)) * _noise(rng, int(rng.integers(3, 6)), size)
        + float(rng.uniform(10.0, 25.0)) * _noise(rng, 8, size)
    )
    # keep the colour spread of every pixel small: pull channels to their mean
    mean = pixels.mean(axis=2, keepdims=True)
    pixels = np.clip(mean + np.clip(pixels - mean, -25.0, 25.0), 40.0, 215.0)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 7))):
        x, y = rng.uniform(0.0, size, size=2)
        half_w, half_h = rng.uniform(0.04, 0.15, size=2) * size
        box = [
            float(x - half_w),
            float(y - half_h),
            float(x + half_w),
            float(y + half_h),
        ]
        kind = int(rng.integers(3))
        colour = _muted(rng)
        if kind == 0:
            draw.rectangle(box, fill=colour)
        elif kind == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=max(int(0.03 * size), 1))
    return image


class _Painter:
    """Draws the same shapes on the RGB image and on the part-label map."""

    def __init__(self, image: Image.Image) -> None:
        self.labels = Image.new("L", image.size, 0)
        self.draws = (ImageDraw.Draw(image), ImageDraw.Draw(self.labels))

    @staticmethod
    def _fills(part: str) -> tuple[tuple[int, int, int], int]:
        return PART_COLOURS[part], 1 + _PARTS.index(part)

    def limb(self, part: str, a: np.ndarray, b: np.ndarray, width: float) -> None:
        """Draw a thick line from ``a`` to ``b`` with round ends."""
        radius = width / 2.0
        for draw, fill in zip(self.draws, self._fills(part), strict=True):
            draw.line([tuple(a), tuple(b)], fill=fill, width=max(round(width), 1))
            for point in (a, b):
                draw.ellipse(
                    [
                        point[0] - radius,
                        point[1] - radius,
                        point[0] + radius,
                        point[1] + radius,
                    ],
                    fill=fill,
                )

    def polygon(self, part: str, points: np.ndarray) -> None:
        """Draw a filled polygon."""
        for draw, fill in zip(self.draws, self._fills(part), strict=True):
            draw.polygon([tuple(p) for p in points], fill=fill)

    def rectangle(self, box: tuple[int, int, int, int], colour: tuple) -> None:
        """Draw the occluder rectangle."""
        for draw, fill in zip(self.draws, (colour, OCCLUDER_LABEL), strict=True):
            draw.rectangle(box, fill=fill)


def render_synthetic_figure(
    rng: np.random.Generator, image_size: int = 256
) -> SyntheticFigure:
    """Render one random figure on a random background.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random choice.
    image_size : int
        Side of the square image in pixels.

    Returns
    -------
    SyntheticFigure
        The annotated image, its part-label map and occluder.
    """
    size = require_int(image_size, "synthetic pose image_size", 16)
    person = float(rng.uniform(0.45, 0.8)) * size
    tilt = math.radians(float(rng.uniform(-25.0, 25.0)))
    rotation = np.array(
        [[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]]
    )
    joints = _skeleton(rng) @ rotation.T * person
    low, high = joints.min(axis=0), joints.max(axis=0)
    extent = high - low
    middle = np.empty(2)
    for axis in range(2):
        slack = 0.08 * extent[axis]
        first = extent[axis] / 2.0 - slack
        last = size - extent[axis] / 2.0 + slack
        middle[axis] = (
            rng.uniform(first, last) if first < last else size / 2.0 + rng.uniform()
        )
    joints = joints + (middle - (low + high) / 2.0)

    image = _background(rng, size)
    painter = _Painter(image)
    leg, arm = 0.065 * person, 0.05 * person
    point = {name: joints[k] for k, name in enumerate(MPII_JOINTS)}
    for part, a, b in _LEGS:
        painter.limb(part, point[a], point[b], leg)
    painter.polygon(
        "torso",
        np.stack(
            [point["r_hip"], point["r_shoulder"], point["l_shoulder"], point["l_hip"]]
        ),
    )
    painter.limb("torso", point["r_hip"], point["l_hip"], leg)
    painter.limb("torso", point["r_shoulder"], point["l_shoulder"], arm)
    painter.limb("neck", point["thorax"], point["upper_neck"], arm)
    neck, top = point["upper_neck"], point["head_top"]
    axis = top - neck
    head_length = float(np.hypot(*axis))
    along = axis / max(head_length, 1e-9)
    across = np.array([-along[1], along[0]])
    angles = np.linspace(0.0, 2.0 * np.pi, 32, endpoint=False)
    outline = (
        (neck + top) / 2.0
        + np.cos(angles)[:, None] * (0.55 * head_length) * along
        + np.sin(angles)[:, None] * (0.375 * head_length) * across
    )
    painter.polygon("head", outline)
    for part, a, b in _ARMS:
        painter.limb(part, point[a], point[b], arm)

    occluder = None
    if rng.random() < 0.2:
        anchor = joints[int(rng.integers(16))] + rng.uniform(-0.1, 0.1, 2) * person
        half = rng.uniform(0.1, 0.225, size=2) * person
        occluder = (
            int(round(anchor[0] - half[0])),
            int(round(anchor[1] - half[1])),
            int(round(anchor[0] + half[0])),
            int(round(anchor[1] + half[1])),
        )
        painter.rectangle(occluder, _muted(rng))

    labels = np.asarray(painter.labels)
    pixel = np.round(joints).astype(int)
    inside = np.all((joints >= -0.5) & (joints < size - 0.5), axis=1)
    visible = np.zeros(16, dtype=np.float32)
    for k in np.flatnonzero(inside):
        label = int(labels[pixel[k, 1], pixel[k, 0]])
        owners = {1 + _PARTS.index(part) for part in JOINT_PARTS[k]}
        visible[k] = float(label in owners)

    low, high = joints.min(axis=0), joints.max(axis=0)
    extent = high - low
    head_mid = (neck + top) / 2.0
    half_side = head_length / 2.0
    record = PoseRecord(
        image=np.asarray(image),
        joints=joints.astype(np.float32),
        visible=visible,
        center=((low + high) / 2.0).astype(np.float32),
        box_height=1.25 * max(float(extent[1]), float(extent[0]) * 4.0 / 3.0),
        head_box=np.concatenate([head_mid - half_side, head_mid + half_side]),
    )
    return SyntheticFigure(record=record, labels=labels, occluder=occluder)


def synthetic_pose_figure(
    seed: int, index: int, image_size: int = 256
) -> SyntheticFigure:
    """Figure ``index`` of the synthetic pose data of ``seed``.

    Parameters
    ----------
    seed : int
        Seed of the data set.
    index : int
        Image index; the figure depends only on ``(seed, index, image_size)``.
    image_size : int
        Side of the square image in pixels.

    Returns
    -------
    SyntheticFigure
        The rendered figure.
    """
    return render_synthetic_figure(np.random.default_rng((seed, index)), image_size)


def synthetic_pose_records(
    seed: int, num_images: int, image_size: int = 256
) -> list[PoseRecord]:
    """Deterministic synthetic pose records (images in memory).

    Parameters
    ----------
    seed : int
        Seed; the same seed gives identical arrays, image ``i`` does not depend
        on ``num_images``.
    num_images : int
        Number of images (one person each).
    image_size : int
        Side of the square images in pixels.

    Returns
    -------
    list of PoseRecord
        The records.
    """
    count = require_int(num_images, "synthetic pose num_images", 0)
    return [synthetic_pose_figure(seed, i, image_size).record for i in range(count)]
