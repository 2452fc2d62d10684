"""Top-down human pose estimation data: records, crop geometry, heatmap targets.

A :class:`PoseRecord` holds one annotated person: the image (in memory or as a
file), the 16 MPII joints and the person box (centre and height). The datasets
cut the person out with an affine warp to a fixed input size ``(h, w)`` and
regress Gaussian heatmaps at the model's heatmap size.

Conventions
-----------
* **Pixel centres at integers.** In image, crop and heatmap coordinates alike,
  pixel ``(i, j)`` (row, column) is centred at ``x = j, y = i`` and covers
  ``[j - 0.5, j + 0.5] × [i - 0.5, i + 0.5]``; an image of width ``W`` spans
  ``[-0.5, W - 0.5]``. Joints are 0-based in this convention (MPII's 1-based
  MATLAB coordinates minus 1).
* **Crop.** :func:`crop_matrix` maps the person box, centred at the record's
  centre, ``box_height · scale`` pixels high and ``box_height · scale · w / h``
  wide, onto the whole crop ``[-0.5, w - 0.5] × [-0.5, h - 0.5]``, with the
  content turned counter-clockwise (as seen on screen) by the augmentation's
  rotation. The crop of the same box at different input sizes therefore covers
  exactly the same image region, so that copies of one sample at several
  resolutions are aligned.
* **Flip.** :func:`crop_matrix` ignores ``augment.flip``; the flip is applied
  after the warp, in crop space: the crop is mirrored (``x -> w - 1 - x``) and
  joints go through :func:`flip_joints` (mirror and swap left and right).
* **Heatmaps.** :func:`heatmap_matrix` maps crop pixels to heatmap pixels with
  the same pixel-centre convention, ``x_h = (x + 0.5) · w_h / w - 0.5`` (and
  likewise for ``y``), so that a mirrored heatmap is exactly the heatmap of the
  mirrored crop and heatmaps at different resolutions agree. Decode with
  ``invert_affine(heatmap_matrix(...))`` followed by the item's
  ``crop_to_image`` matrix.
* **Anti-aliasing.** :func:`warp_image` first shrinks the image by an integer
  factor ``k = floor(1 / s)`` with box averaging (:meth:`PIL.Image.Image.reduce`)
  when the crop shrinks the image by ``1 / s >= 2``, then warps bilinearly
  (the remaining scale is in ``(0.5, 1]``), so that low-resolution copies are
  not aliased.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from fedvideo.data.errors import DatasetError

__all__ = [
    "FLIP_PAIRS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MPII_JOINTS",
    "PoseAugment",
    "PoseEvalSet",
    "PoseRecord",
    "PoseTrainSet",
    "crop_matrix",
    "flip_joints",
    "gaussian_heatmaps",
    "head_size",
    "heatmap_matrix",
    "invert_affine",
    "sample_augment",
    "to_tensor_image",
    "transform_points",
    "warp_image",
]

#: The 16 MPII joints in annotation order.
MPII_JOINTS: tuple[str, ...] = (
    "r_ankle",
    "r_knee",
    "r_hip",
    "l_hip",
    "l_knee",
    "l_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "r_wrist",
    "r_elbow",
    "r_shoulder",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
)

#: Indices of left/right joint pairs that swap under a horizontal flip.
FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 5),
    (1, 4),
    (2, 3),
    (10, 15),
    (11, 14),
    (12, 13),
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_NUM_JOINTS = len(MPII_JOINTS)


def _float_array(value: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a read-only float32 array of ``shape``, or raise naming it."""
    array = np.array(value, dtype=np.float32)
    if array.shape != shape:
        raise DatasetError(f"{what} must have shape {shape}, got {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class PoseRecord:
    """One annotated person.

    Attributes
    ----------
    image : numpy.ndarray or pathlib.Path
        ``(H, W, 3)`` uint8 RGB image in memory, or the path of an image file
        (read with Pillow and converted to RGB by :meth:`load_image`).
    joints : numpy.ndarray
        ``(16, 2)`` float32 joint positions ``x, y`` in image pixels (0-based,
        pixel centres at integers), in :data:`MPII_JOINTS` order.
    visible : numpy.ndarray
        ``(16,)`` float32, 1 for an annotated visible joint, 0 otherwise.
    center : numpy.ndarray
        ``(2,)`` float32 person centre ``x, y`` in pixels.
    box_height : float
        Height in pixels of the person box that the crop covers; the crop's
        width is ``box_height · w / h`` for an input size ``(h, w)``.
    head_box : numpy.ndarray
        ``(4,)`` float32 head box ``x1, y1, x2, y2``; NaNs when unknown.
    """

    image: np.ndarray | Path
    joints: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    box_height: float
    head_box: np.ndarray

    def __post_init__(self) -> None:
        image = self.image
        if isinstance(image, str):
            image = Path(image)
        elif isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise DatasetError(
                    "a pose record's image must be (H, W, 3) uint8, got "
                    f"{image.dtype} {image.shape}"
                )
        elif not isinstance(image, Path):
            raise DatasetError(
                f"a pose record's image must be an array or a path, got {image!r}"
            )
        object.__setattr__(self, "image", image)
        shapes = {
            "joints": (_NUM_JOINTS, 2),
            "visible": (_NUM_JOINTS,),
            "center": (2,),
            "head_box": (4,),
        }
        for name, shape in shapes.items():
            value = _float_array(getattr(self, name), shape, f"pose record {name}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "box_height", float(self.box_height))

    def verify(self) -> None:
        """Check cheaply that the image file exists and is intact (no decoding).

        Raises
        ------
        DatasetError
            If the file is missing, unreadable or corrupt; the message names it.
        """
        if isinstance(self.image, np.ndarray):
            return
        try:
            with Image.open(self.image) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise DatasetError(
                f"cannot read pose image {self.image}: {error}"
            ) from None

    def load_image(self) -> np.ndarray:
        """Return the image as ``(H, W, 3)`` uint8 RGB.

        Raises
        ------
        FileNotFoundError
            If the image file does not exist.
        DatasetError
            If the image file cannot be decoded.
        """
        if isinstance(self.image, np.ndarray):
            return self.image
        path = self.image
        if not path.is_file():
            raise FileNotFoundError(f"pose image {path} does not exist")
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise DatasetError(f"cannot decode pose image {path}: {error}") from None


def head_size(head_box: np.ndarray) -> float:
    """MPII head size: ``0.6 ·`` the head box's diagonal length.

    Parameters
    ----------
    head_box : numpy.ndarray
        ``(4,)`` head box ``x1, y1, x2, y2``.

    Returns
    -------
    float
        The head size in pixels (NaN for an unknown head box).
    """
    x1, y1, x2, y2 = np.asarray(head_box, dtype=np.float64)
    return float(0.6 * math.hypot(x2 - x1, y2 - y1))


@dataclass(frozen=True)
class PoseAugment:
    """One draw of the geometric augmentation.

    Attributes
    ----------
    rotation : float
        In-plane rotation of the crop's content in degrees, counter-clockwise
        as seen on screen.
    scale : float
        Factor on the person box; above 1 zooms out (the crop covers more).
    flip : bool
        Whether the crop is mirrored horizontally (left and right swapped).
    """

    rotation: float = 0.0
    scale: float = 1.0
    flip: bool = False


def sample_augment(
    rng: np.random.Generator,
    max_rotation: float = 30.0,
    scale_factor: float = 0.25,
    rotation_prob: float = 0.6,
    flip_prob: float = 0.5,
) -> PoseAugment:
    """Draw a random augmentation (HRNet/ViTPose style).

    * scale ``= clip(1 + N(0, scale_factor), 1 - scale_factor, 1 + scale_factor)``;
    * rotation, with probability ``rotation_prob``,
      ``clip(N(0, max_rotation / 2), -max_rotation, max_rotation)`` degrees,
      else 0;
    * a horizontal flip with probability ``flip_prob``.

    The generator is always advanced by the same number of draws, whatever the
    outcome.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    max_rotation : float
        Largest rotation in degrees.
    scale_factor : float
        Standard deviation and largest deviation of the scale from 1.
    rotation_prob : float
        Probability of rotating at all.
    flip_prob : float
        Probability of flipping.

    Returns
    -------
    PoseAugment
        The drawn augmentation.
    """
    scale_noise, rotation_noise = rng.standard_normal(2)
    rotate, flip = rng.random(2)
    scale = float(
        np.clip(
            1.0 + scale_noise * scale_factor, 1.0 - scale_factor, 1.0 + scale_factor
        )
    )
    rotation = 0.0
    if rotate < rotation_prob:
        rotation = float(
            np.clip(rotation_noise * max_rotation / 2.0, -max_rotation, max_rotation)
        )
    return PoseAugment(rotation=rotation, scale=scale, flip=bool(flip < flip_prob))


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    """Return a 2x3 affine matrix as 3x3."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(f"an affine matrix must have shape (2, 3), got {matrix.shape}")
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def crop_matrix(
    center: np.ndarray | Sequence[float],
    box_height: float,
    out_size: tuple[int, int],
    augment: PoseAugment = PoseAugment(),  # noqa: B008 - immutable
) -> np.ndarray:
    """Affine matrix from image pixel coordinates to crop pixel coordinates.

    The box centred at ``center``, ``box_height · augment.scale`` high and
    ``w / h`` times as wide, rotated clockwise by ``augment.rotation`` degrees
    about its centre (so that the content appears rotated counter-clockwise in
    the crop, like :meth:`PIL.Image.Image.rotate`), fills the crop: ``center``
    goes to
    ``((w - 1) / 2, (h - 1) / 2)`` and the box's edges to the crop's outer
    pixel edges (``-0.5`` and ``w - 0.5``). ``augment.flip`` is ignored (see
    the module docstring).

    Parameters
    ----------
    center : array-like
        Box centre ``x, y`` in image pixels.
    box_height : float
        Box height in image pixels before augmentation.
    out_size : tuple of int
        Crop size ``(height, width)``.
    augment : PoseAugment
        Rotation and scale.

    Returns
    -------
    numpy.ndarray
        ``(2, 3)`` float64 matrix ``M`` with ``crop = M[:, :2] @ image + M[:, 2]``.
    """
    height, width = out_size
    cx, cy = (float(v) for v in np.asarray(center, dtype=np.float64))
    pixels_per_unit = height / (box_height * augment.scale)
    angle = math.radians(augment.rotation)
    cos, sin = math.cos(angle), math.sin(angle)
    # Rows grow downwards, so turning the content counter-clockwise on screen
    # is the matrix [[cos, sin], [-sin, cos]] on (x, y).
    linear = pixels_per_unit * np.array([[cos, sin], [-sin, cos]])
    offset = np.array([(width - 1) / 2.0, (height - 1) / 2.0]) - linear @ [cx, cy]
    return np.hstack([linear, offset[:, None]])


def heatmap_matrix(
    input_size: tuple[int, int], heatmap_size: tuple[int, int]
) -> np.ndarray:
    """Affine matrix from crop (input) pixels to heatmap pixels.

    ``x_h = (x + 0.5) · w_h / w - 0.5`` and ``y_h = (y + 0.5) · h_h / h - 0.5``:
    the crop's and the heatmap's outer pixel edges coincide.

    Parameters
    ----------
    input_size : tuple of int
        Crop size ``(h, w)``.
    heatmap_size : tuple of int
        Heatmap size ``(h_h, w_h)``.

    Returns
    -------
    numpy.ndarray
        ``(2, 3)`` float64 matrix.
    """
    sy = heatmap_size[0] / input_size[0]
    sx = heatmap_size[1] / input_size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine matrix, as ``(2, 3)`` float64.

    Parameters
    ----------
    matrix : numpy.ndarray
        An invertible affine matrix.

    Returns
    -------
    numpy.ndarray
        The matrix of the inverse map.
    """
    return np.linalg.inv(_homogeneous(matrix))[:2]


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply an affine matrix to points.

    Parameters
    ----------
    points : numpy.ndarray
        ``(N, 2)`` points ``x, y``.
    matrix : numpy.ndarray
        ``(2, 3)`` affine matrix.

    Returns
    -------
    numpy.ndarray
        ``(N, 2)`` float64 transformed points.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    matrix = np.asarray(matrix, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def warp_image(
    image: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int]
) -> np.ndarray:
    """Warp an image into a crop with an image-to-crop affine matrix.

    Bilinear resampling with Pillow; pixels from outside the image are black.
    When the matrix shrinks the image by ``1 / s >= 2`` (``s`` the matrix's
    scale), the needed part of the image is first box-averaged by the integer
    factor ``floor(1 / s)`` with :meth:`PIL.Image.Image.reduce`, so that the
    bilinear warp never shrinks by 2 or more and the crop is not aliased.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB image.
    matrix : numpy.ndarray
        ``(2, 3)`` matrix from image to crop pixel coordinates (pixel centres
        at integers in both).
    out_size : tuple of int
        Crop size ``(height, width)``.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 crop.
    """
    height, width = out_size
    forward = _homogeneous(matrix)
    inverse = np.linalg.inv(forward)
    corners = np.array(
        [
            [-0.5, -0.5],
            [width - 0.5, -0.5],
            [-0.5, height - 0.5],
            [width - 0.5, height - 0.5],
        ]
    )
    source = transform_points(corners, inverse[:2])
    scale = math.sqrt(abs(np.linalg.det(forward[:2, :2])))
    factor = max(int(math.floor(1.0 / scale + 1e-6)), 1)
    # Only the part of the image under the crop (plus a margin for the
    # reduction blocks and the bilinear footprint) is converted and warped.
    margin = factor + 2
    x0 = max(math.floor(source[:, 0].min()) - margin, 0)
    y0 = max(math.floor(source[:, 1].min()) - margin, 0)
    x1 = min(math.ceil(source[:, 0].max()) + margin + 1, image.shape[1])
    y1 = min(math.ceil(source[:, 1].max()) + margin + 1, image.shape[0])
    if x0 >= x1 or y0 >= y1:
        return np.zeros((height, width, 3), dtype=np.uint8)
    region = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    # region pixel (u, v) is image pixel (u + x0, v + y0)
    to_image = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    if factor > 1:
        region = region.reduce(factor)
        # reduced pixel u covers region pixels [k·u, k·u + k - 1]
        half = (factor - 1) / 2.0
        to_image = to_image @ np.array(
            [[factor, 0.0, half], [0.0, factor, half], [0.0, 0.0, 1.0]]
        )
    crop_to_source = np.linalg.inv(forward @ to_image)
    # Pillow puts pixel centres at +0.5 in both images: shift in and out.
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    unshift = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    coefficients = (shift @ crop_to_source @ unshift)[:2].ravel()
    warped = region.transform(
        (width, height),
        Image.Transform.AFFINE,
        tuple(float(c) for c in coefficients),
        resample=Image.Resampling.BILINEAR,
    )
    return np.array(warped)


def flip_joints(
    joints: np.ndarray, visible: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mirror joints horizontally and swap left and right.

    Parameters
    ----------
    joints : numpy.ndarray
        ``(16, 2)`` joints ``x, y`` in the coordinates of an image ``width``
        pixels wide.
    visible : numpy.ndarray
        ``(16,)`` visibility flags.
    width : int
        Image width; ``x`` becomes ``width - 1 - x``.

    Returns
    -------
    tuple of numpy.ndarray
        The flipped joints and visibility flags (new arrays).
    """
    joints = np.array(joints, copy=True)
    visible = np.array(visible, copy=True)
    joints[:, 0] = width - 1 - joints[:, 0]
    for left, right in FLIP_PAIRS:
        joints[[left, right]] = joints[[right, left]]
        visible[[left, right]] = visible[[right, left]]
    return joints, visible


def gaussian_heatmaps(
    joints: np.ndarray,
    visible: np.ndarray,
    heatmap_size: tuple[int, int],
    sigma: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised Gaussian heatmaps centred at the (sub-pixel) joints.

    Heatmap ``j`` is ``exp(-d² / 2σ²)``, ``d`` the distance from pixel centre
    to joint ``j``, over the whole map (so the peak is 1 when the joint lies on
    a pixel centre). The weight of a joint is its visibility flag, but 0 when
    it is not finite or when its Gaussian lies outside the map by the 3σ rule
    (no pixel centre within 3σ along ``x`` or along ``y``, as in HRNet).
    Joints of weight 0 get an all-zero heatmap.

    Parameters
    ----------
    joints : numpy.ndarray
        ``(J, 2)`` joints ``x, y`` in heatmap pixel coordinates.
    visible : numpy.ndarray
        ``(J,)`` visibility flags.
    heatmap_size : tuple of int
        ``(height, width)`` of the heatmaps.
    sigma : float
        Standard deviation in heatmap pixels.

    Returns
    -------
    tuple of numpy.ndarray
        ``(J, height, width)`` float32 heatmaps and ``(J,)`` float32 weights.
    """
    height, width = heatmap_size
    joints = np.asarray(joints, dtype=np.float64)
    weights = np.asarray(visible, dtype=np.float32).copy()
    x, y = joints[:, 0], joints[:, 1]
    reach = 3.0 * sigma
    with np.errstate(invalid="ignore"):
        inside = (
            np.isfinite(x)
            & np.isfinite(y)
            & (x + reach >= 0)
            & (x - reach <= width - 1)
            & (y + reach >= 0)
            & (y - reach <= height - 1)
        )
    weights[~inside] = 0.0
    weights[weights < 0] = 0.0
    centre_x = np.where(inside, x, 0.0)[:, None]
    centre_y = np.where(inside, y, 0.0)[:, None]
    gauss_x = np.exp(-((np.arange(width) - centre_x) ** 2) / (2 * sigma**2))
    gauss_y = np.exp(-((np.arange(height) - centre_y) ** 2) / (2 * sigma**2))
    gauss_x *= (weights > 0)[:, None]
    heatmaps = gauss_y[:, :, None] * gauss_x[:, None, :]
    return heatmaps.astype(np.float32), weights


def to_tensor_image(image: np.ndarray) -> torch.Tensor:
    """Convert an ``(H, W, 3)`` uint8 image to a normalised ``(3, H, W)`` tensor.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image.

    Returns
    -------
    torch.Tensor
        float32 tensor ``(image / 255 - mean) / std`` per channel.
    """
    tensor = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (tensor.float() / 255.0 - mean) / std


def _size(value: Sequence[int], what: str) -> tuple[int, int]:
    """``value`` as a ``(height, width)`` pair of positive ints, or raise."""
    size = tuple(int(v) for v in value)
    if len(size) != 2 or min(size) < 1:
        raise DatasetError(f"{what} must be (height, width) > 0, got {value!r}")
    return size  # type: ignore[return-value]


class PoseTrainSet(Dataset):
    """Augmented training crops of each person at several input resolutions.

    Item ``i`` is ``{"images": [...], "targets": [...], "weights": [...]}``,
    one entry per resolution in the order given: ``(3, h, w)`` normalised
    crops, ``(16, h_h, w_h)`` heatmaps and ``(16,)`` joint weights. All copies
    share one augmentation draw and are each warped from the original image
    (never resized from another copy). Joints go image -> crop
    (:func:`crop_matrix` at that resolution) -> flip -> heatmap
    (:func:`heatmap_matrix`).

    Torch's default collate turns the lists into lists of batched tensors.

    Parameters
    ----------
    records : sequence of PoseRecord
        The people.
    resolutions : sequence of tuple of int
        Input sizes ``(h, w)``, highest first.
    heatmap_size : callable
        Maps an input size ``(h, w)`` to the model's heatmap size.
    seed : int
        Seed of the augmentation; draws are deterministic in
        ``(seed, epoch, index)``.
    augment : bool
        Whether to augment (else identity crops).
    sigma : float or sequence of float
        Gaussian standard deviation in heatmap pixels, one value for all
        resolutions or one per resolution.
    """

    def __init__(
        self,
        records: Sequence[PoseRecord],
        resolutions: Sequence[tuple[int, int]],
        heatmap_size: Callable[[int, int], tuple[int, int]],
        seed: int,
        augment: bool = True,
        sigma: float | Sequence[float] = 2.0,
    ) -> None:
        if not resolutions:
            raise DatasetError("pose training needs at least one input resolution")
        self.records = records
        self.resolutions = [_size(r, "pose input resolution") for r in resolutions]
        self.heatmap_sizes = [
            _size(heatmap_size(h, w), f"heatmap size of input {(h, w)}")
            for h, w in self.resolutions
        ]
        if isinstance(sigma, int | float):
            sigmas = [float(sigma)] * len(self.resolutions)
        else:
            sigmas = [float(s) for s in sigma]
        if len(sigmas) != len(self.resolutions) or min(sigmas) <= 0:
            raise DatasetError(
                f"pose heatmap sigma must be > 0, one value or one per resolution; "
                f"got {sigma!r} for {len(self.resolutions)} resolutions"
            )
        self.sigmas = sigmas
        self.seed = seed
        self.augment = augment
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations in the next pass over the records.

        Parameters
        ----------
        epoch : int
            The epoch number.
        """
        self.epoch = epoch

    def draw_augment(self, index: int) -> PoseAugment:
        """Return the augmentation of item ``index`` in the current epoch.

        Parameters
        ----------
        index : int
            Item index.

        Returns
        -------
        PoseAugment
            The draw shared by all resolutions (identity without augmentation).
        """
        if not self.augment:
            return PoseAugment()
        return sample_augment(np.random.default_rng((self.seed, self.epoch, index)))

    def __getitem__(self, index: int) -> dict[str, list[torch.Tensor]]:
        record = self.records[index]
        augment = self.draw_augment(index)
        image = record.load_image()
        item: dict[str, list[torch.Tensor]] = {
            "images": [],
            "targets": [],
            "weights": [],
        }
        for size, hm_size, sigma in zip(
            self.resolutions, self.heatmap_sizes, self.sigmas, strict=True
        ):
            matrix = crop_matrix(record.center, record.box_height, size, augment)
            crop = warp_image(image, matrix, size)
            joints = transform_points(record.joints, matrix)
            visible = record.visible
            if augment.flip:
                crop = crop[:, ::-1]
                joints, visible = flip_joints(joints, visible, size[1])
            joints = transform_points(joints, heatmap_matrix(size, hm_size))
            targets, weights = gaussian_heatmaps(joints, visible, hm_size, sigma)
            item["images"].append(to_tensor_image(crop))
            item["targets"].append(torch.from_numpy(targets))
            item["weights"].append(torch.from_numpy(weights))
        return item


class PoseEvalSet(Dataset):
    """Unaugmented crops for evaluation at one input resolution.

    Item ``i`` is a dict with ``image`` ``(3, h, w)`` (normalised),
    ``crop_to_image`` ``(2, 3)`` float64 (the inverse of the crop matrix: crop
    pixel coordinates to image pixel coordinates), ``joints`` ``(16, 2)`` in
    image coordinates, ``visible`` ``(16,)`` and ``head_size`` (a scalar, NaN
    when the head box is unknown).

    Parameters
    ----------
    records : sequence of PoseRecord
        The people.
    resolution : tuple of int
        Input size ``(h, w)``.
    """

    def __init__(
        self, records: Sequence[PoseRecord], resolution: tuple[int, int]
    ) -> None:
        self.records = records
        self.resolution = _size(resolution, "pose input resolution")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        record = self.records[index]
        matrix = crop_matrix(record.center, record.box_height, self.resolution)
        crop = warp_image(record.load_image(), matrix, self.resolution)
        return {
            "image": to_tensor_image(crop),
            "crop_to_image": torch.from_numpy(invert_affine(matrix)),
            "joints": torch.from_numpy(record.joints.copy()),
            "visible": torch.from_numpy(record.visible.copy()),
            "head_size": torch.tensor(head_size(record.head_box), dtype=torch.float32),
        }
