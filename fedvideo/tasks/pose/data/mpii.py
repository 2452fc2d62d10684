"""The MPII Human Pose dataset in its usual (HRNet/mmpose) layout.

Layout::

    <root>/images/<image file>                 # the MPII images (e.g. 015601864.jpg)
    <root>/annotations/train.json              # HRNet/mmpose annotations
    <root>/annotations/valid.json
    <root>/annotations/gt_valid.mat            # optional: head boxes of valid.json

Each annotation file is a JSON list with one entry per person::

    {"image": "015601864.jpg", "center": [x, y], "scale": s,
     "joints": [[x, y], ...16], "joints_vis": [0 or 1, ...16]}

and optionally ``"head_box": [x1, y1, x2, y2]``. ``gt_valid.mat`` is MPII's
evaluation file as distributed with HRNet: ``headboxes_src`` of shape
``(2, 2, N)`` holds ``(x1, y1)`` in ``[0]`` and ``(x2, y2)`` in ``[1]`` for the
``N`` entries of ``valid.json`` in order. It is read with :mod:`scipy.io`,
imported only when needed.

Conversions (as in HRNet): coordinates are MATLAB 1-based, so joints, centre and
head boxes have 1 subtracted; the centre moves down by ``15 · scale`` pixels
and the scale grows by 1.25 (so that limbs are not cut); the person box is
``scale · 200`` pixels high. Scales must be positive. An entry's own ``head_box`` takes
precedence over ``gt_valid.mat``; without either the head box is NaN, which is
allowed for the training split only (the validation split needs head sizes for
PCKh).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from fedvideo.data.errors import DatasetError, read_json_file
from fedvideo.tasks.pose.data.datasets import MPII_JOINTS, PoseRecord

__all__ = ["MPII_SPLITS", "load_mpii", "mpii_annotation_path", "write_mpii_split"]

#: The annotation files of the layout.
MPII_SPLITS: tuple[str, ...] = ("train", "valid")

_KEYS = ("image", "center", "scale", "joints", "joints_vis")
_MISSING_SHOWN = 5


def mpii_annotation_path(root: str | Path, split: str) -> Path:
    """Return the annotation file of ``split`` under ``root``.

    Parameters
    ----------
    root : str or pathlib.Path
        The dataset folder.
    split : str
        ``"train"`` or ``"valid"``.

    Returns
    -------
    pathlib.Path
        ``<root>/annotations/<split>.json``.

    Raises
    ------
    DatasetError
        If ``split`` is unknown.
    """
    if split not in MPII_SPLITS:
        raise DatasetError(f"MPII split must be one of {MPII_SPLITS}, got {split!r}")
    return Path(root) / "annotations" / f"{split}.json"


def _numbers(value: object, shape: tuple[int, ...], where: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or raise naming ``where``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{where} must be numbers, got {value!r}") from None
    if array.shape != shape:
        raise DatasetError(
            f"{where} must have shape {shape}, got {value!r} of shape {array.shape}"
        )
    return array


def _read_entries(path: Path) -> list[Mapping[str, object]]:
    """Read the list of entries of an annotation file."""
    entries = read_json_file(path, "MPII annotation file")
    if not isinstance(entries, list):
        raise DatasetError(
            f"MPII annotation file {path} must hold a JSON list of people, "
            f"got {type(entries).__name__}"
        )
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DatasetError(
                f"entry {index} of {path} must be a JSON object, got {entry!r}"
            )
        for key in _KEYS:
            if key not in entry:
                raise DatasetError(f"entry {index} of {path} has no key {key!r}")
    return entries


def _read_head_boxes(path: Path, count: int) -> np.ndarray:
    """``(count, 4)`` 1-based head boxes from ``gt_valid.mat``."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DatasetError(
            f"reading head boxes from {path} needs scipy; install scipy or give "
            "every entry of valid.json a 'head_box'"
        ) from None
    try:
        boxes = np.asarray(loadmat(str(path))["headboxes_src"], dtype=np.float64)
    except KeyError:
        raise DatasetError(f"{path} has no 'headboxes_src' array") from None
    except Exception as error:  # scipy raises several types for bad files
        raise DatasetError(f"cannot read MPII head boxes {path}: {error}") from None
    if boxes.ndim != 3 or boxes.shape[:2] != (2, 2) or boxes.shape[2] != count:
        raise DatasetError(
            f"'headboxes_src' in {path} must have shape (2, 2, {count}) for the "
            f"{count} entries of valid.json, got {boxes.shape}"
        )
    return np.concatenate([boxes[0].T, boxes[1].T], axis=1)


def _record(
    entry: Mapping[str, object], index: int, path: Path, images: Path
) -> tuple[PoseRecord, bool]:
    """Convert one entry; also return whether it carried its own head box."""
    where = f"entry {index} of {path}"
    name = entry["image"]
    if not isinstance(name, str) or not name:
        raise DatasetError(f"{where}: 'image' must be a file name, got {name!r}")
    joints = _numbers(entry["joints"], (len(MPII_JOINTS), 2), f"{where}: 'joints'")
    visible = _numbers(
        entry["joints_vis"], (len(MPII_JOINTS),), f"{where}: 'joints_vis'"
    )
    center = _numbers(entry["center"], (2,), f"{where}: 'center'")
    scale = _numbers(entry["scale"], (), f"{where}: 'scale'")[()]
    if not np.isfinite(scale) or scale <= 0:
        raise DatasetError(f"{where}: 'scale' must be > 0, got {entry['scale']!r}")
    center[1] += 15.0 * scale
    scale *= 1.25
    own_box = "head_box" in entry
    head_box = np.full(4, np.nan)
    if own_box:
        head_box = _numbers(entry["head_box"], (4,), f"{where}: 'head_box'") - 1.0
    record = PoseRecord(
        image=images / name,
        joints=joints - 1.0,
        visible=(visible > 0).astype(np.float32),
        center=center - 1.0,
        box_height=float(scale * 200.0),
        head_box=head_box,
    )
    return record, own_box


def load_mpii(root: str | Path, split: str) -> list[PoseRecord]:
    """Read the people of an MPII split (images referenced by path).

    Parameters
    ----------
    root : str or pathlib.Path
        The dataset folder (see the module docstring for the layout).
    split : str
        ``"train"`` or ``"valid"``.

    Returns
    -------
    list of PoseRecord
        One record per annotation entry, in file order, in 0-based pixel
        coordinates.

    Raises
    ------
    DatasetError
        If the folder or annotation file is missing or malformed (the message
        names the entry index and key), if images are missing (the first few
        are named), or if the validation split has entries without head boxes.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"MPII folder {root} does not exist")
    path = mpii_annotation_path(root, split)
    entries = _read_entries(path)
    images = root / "images"
    pairs = [_record(e, i, path, images) for i, e in enumerate(entries)]
    records = [record for record, _ in pairs]

    missing = list(
        dict.fromkeys(
            str(entry["image"])
            for entry, record in zip(entries, records, strict=True)
            if not record.image.is_file()  # type: ignore[union-attr]
        )
    )
    if missing:
        shown = ", ".join(missing[:_MISSING_SHOWN])
        more = len(missing) - _MISSING_SHOWN
        raise DatasetError(
            f"{len(missing)} image(s) named in {path} are missing from {images}: "
            f"{shown}" + (f" and {more} more" if more > 0 else "")
        )

    without_box = [i for i, (_, own) in enumerate(pairs) if not own]
    if split == "valid" and without_box:
        mat = root / "annotations" / "gt_valid.mat"
        if not mat.is_file():
            raise DatasetError(
                f"entry {without_box[0]} of {path} has no 'head_box' and {mat} "
                "does not exist; MPII validation needs head boxes for PCKh"
            )
        boxes = _read_head_boxes(mat, len(records)) - 1.0
        for i in without_box:
            if not np.all(np.isfinite(boxes[i])):
                raise DatasetError(f"head box {i} in {mat} is not finite")
            records[i] = replace(records[i], head_box=boxes[i])
    return records


def write_mpii_split(
    records: Sequence[PoseRecord], root: str | Path, split: str
) -> Path:
    """Write records as one split of the layout that :func:`load_mpii` reads.

    Images go to ``images/<split>_<index>.png`` (lossless, so that a written
    synthetic dataset trains exactly like the in-memory one), the entries with
    their own ``head_box`` to ``annotations/<split>.json``, converted to MPII's
    1-based conventions so that :func:`load_mpii` gives the records back.

    Returns
    -------
    Path
        The annotation file.
    """
    path = mpii_annotation_path(root, split)
    images = Path(root) / "images"
    images.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, record in enumerate(records):
        name = f"{split}_{index:05d}.png"
        Image.fromarray(record.load_image()).save(images / name)
        scale = record.box_height / 200.0 / 1.25
        center = np.asarray(record.center, dtype=np.float64) + 1.0
        center[1] -= 15.0 * scale
        entries.append(
            {
                "image": name,
                "center": center.tolist(),
                "scale": scale,
                "joints": (np.asarray(record.joints, np.float64) + 1.0).tolist(),
                "joints_vis": [int(v > 0) for v in record.visible],
                "head_box": (np.asarray(record.head_box, np.float64) + 1.0).tolist(),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path
