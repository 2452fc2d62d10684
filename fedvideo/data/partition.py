"""Splitting videos among federated clients, and partition files.

The partitioners are pure functions of item counts or labels that return lists
of item indices, one list per client. A partition file stores the result as
video names, as JSON: ``{"meta": {...}, "partitions": [[name, ...], ...]}``.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fedvideo.data.errors import DatasetError, require_int
from fedvideo.data.video import Video

__all__ = [
    "DEFAULT_SKEW",
    "SCHEMES",
    "partition_by_class",
    "partition_iid",
    "partition_names",
    "partition_quantity_skew",
    "read_labels",
    "read_partition",
    "select_partition",
    "write_partition_file",
]

#: The ``a`` of :func:`partition_quantity_skew` used for ``"quantity-skew"``.
DEFAULT_SKEW = 0.1
#: Partitioning schemes understood by :func:`partition_names`.
SCHEMES: tuple[str, ...] = ("iid", "quantity-skew", "by-class")


def _check_counts(num_items: int, num_partitions: int) -> tuple[int, int]:
    num_items = require_int(num_items, "number of items", 0)
    num_partitions = require_int(num_partitions, "num-partitions", 1)
    if num_partitions > num_items:
        raise DatasetError(
            f"cannot split {num_items} videos into num-partitions={num_partitions} "
            f"non-empty partitions: num-partitions must be between 1 and {num_items}"
        )
    return num_items, num_partitions


def _contiguous(sizes: Sequence[int]) -> list[list[int]]:
    """Consecutive index ranges with the given sizes."""
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [list(range(bounds[i], bounds[i + 1])) for i in range(len(sizes))]


def partition_iid(num_items: int, num_partitions: int) -> list[list[int]]:
    """Contiguous chunks of whole videos of (nearly) equal size.

    The first ``num_items % num_partitions`` chunks hold one item more (FedVSR
    splits REDS into 40 contiguous equal chunks).

    Raises
    ------
    DatasetError
        If ``num_partitions`` is < 1 or > ``num_items`` (naming both).
    """
    num_items, num_partitions = _check_counts(num_items, num_partitions)
    base, extra = divmod(num_items, num_partitions)
    return _contiguous([base + (i < extra) for i in range(num_partitions)])


def partition_quantity_skew(
    num_items: int, num_partitions: int, a: float = DEFAULT_SKEW
) -> list[list[int]]:
    """Contiguous chunks whose sizes grow like ``exp(a * i)``.

    Every client gets one item; the other ``num_items - num_partitions`` are
    shared in proportion to ``exp(a * i)`` by the largest-remainder method, so
    sizes sum to ``num_items`` and are monotonic in ``i`` (non-decreasing for
    ``a >= 0``).

    Raises
    ------
    DatasetError
        If ``num_partitions`` is < 1 or > ``num_items``, or ``a`` is not finite.
    """
    num_items, num_partitions = _check_counts(num_items, num_partitions)
    if not isinstance(a, (int, float)) or not math.isfinite(a):
        raise DatasetError(
            f"quantity-skew exponent a (--alpha) must be finite, got {a!r}"
        )
    weights = np.exp(a * (np.arange(num_partitions) - (num_partitions - 1) / 2))
    shares = (num_items - num_partitions) * weights / weights.sum()
    sizes = np.floor(shares).astype(int)
    remainder = num_items - num_partitions - int(sizes.sum())
    # Largest fractional parts first; on ties the later (heavier) client first.
    order = sorted(
        range(num_partitions), key=lambda i: (shares[i] - sizes[i], a * i), reverse=True
    )
    for i in order[:remainder]:
        sizes[i] += 1
    return _contiguous((sizes + 1).tolist())


def partition_by_class(
    labels: Sequence[int | str], num_partitions: int
) -> list[list[int]]:
    """Kinetics-style split: all items of a class go to one client.

    Classes are sorted (numbers before strings) and dealt to clients round-robin:
    class ``k`` goes to client ``k % num_partitions``.

    Raises
    ------
    DatasetError
        If there are fewer classes than partitions, or ``num_partitions < 1``.
    """
    num_partitions = require_int(num_partitions, "num-partitions", 1)
    classes = sorted(set(labels), key=lambda label: (isinstance(label, str), label))
    if num_partitions > len(classes):
        raise DatasetError(
            f"cannot split {len(classes)} classes into "
            f"num-partitions={num_partitions}: by-class partitioning needs at least "
            "one class per partition"
        )
    client_of = {label: k % num_partitions for k, label in enumerate(classes)}
    partitions: list[list[int]] = [[] for _ in range(num_partitions)]
    for index, label in enumerate(labels):
        partitions[client_of[label]].append(index)
    return partitions


def read_labels(path: str | Path) -> dict[str, str]:
    """Read clip labels from a JSON object or a two-column CSV (clip,label).

    A CSV header row ``clip,label`` is optional. Labels are returned as strings.

    Raises
    ------
    DatasetError
        If the file is missing, malformed or empty; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"labels file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read labels file {path}: {err}") from err
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DatasetError(f"labels file {path} is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise DatasetError(
                f"labels file {path} must hold a JSON object clip -> label"
            )
        labels = {str(clip): str(label) for clip, label in data.items()}
    else:
        labels = {}
        for line, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise DatasetError(
                    f"labels file {path}, line {line}: expected 2 columns "
                    f"(clip,label), got {len(row)}"
                )
            clip, label = (cell.strip() for cell in row)
            if line == 1 and (clip.lower(), label.lower()) == ("clip", "label"):
                continue
            labels[clip] = label
    if not labels:
        raise DatasetError(f"labels file {path} contains no labels")
    return labels


def partition_names(
    names: Sequence[str],
    scheme: str,
    num_partitions: int,
    alpha: float = DEFAULT_SKEW,
    labels: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """Split video names with a named scheme (``iid``, ``quantity-skew``, ``by-class``).

    Parameters
    ----------
    names : Sequence[str]
        Video names, in dataset order.
    scheme : str
        One of :data:`SCHEMES`.
    num_partitions : int
        Number of clients.
    alpha : float
        The ``a`` of ``quantity-skew``.
    labels : Mapping[str, str] or None
        Label of every name, required for ``by-class``.

    Raises
    ------
    DatasetError
        For an unknown scheme, missing labels, or impossible partition counts.
    """
    if scheme == "iid":
        groups = partition_iid(len(names), num_partitions)
    elif scheme == "quantity-skew":
        groups = partition_quantity_skew(len(names), num_partitions, alpha)
    elif scheme == "by-class":
        if labels is None:
            raise DatasetError("scheme 'by-class' needs labels (--labels FILE)")
        if missing := [name for name in names if name not in labels]:
            raise DatasetError(
                f"no label for {len(missing)} clip(s), e.g. {missing[0]!r} "
                "(by-class needs a label for every clip)"
            )
        groups = partition_by_class([labels[name] for name in names], num_partitions)
    else:
        raise DatasetError(
            f"unknown partitioning scheme {scheme!r}; choose from {', '.join(SCHEMES)}"
        )
    return [[names[i] for i in group] for group in groups]


def write_partition_file(
    path: str | Path, partitions: list[list[str]], meta: Mapping[str, Any]
) -> None:
    """Write ``{"meta": meta, "partitions": partitions}`` as JSON to ``path``.

    Parent folders are created.

    Raises
    ------
    DatasetError
        If a partition is not a list of names or the file cannot be written.
    """
    path = Path(path)
    for k, part in enumerate(partitions):
        if not isinstance(part, list) or not all(isinstance(n, str) for n in part):
            raise DatasetError(
                f"partition {k} for {path} must be a list of video names"
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"meta": dict(meta), "partitions": partitions}
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except (OSError, TypeError) as err:
        raise DatasetError(f"cannot write partition file {path}: {err}") from err


def _load_partitions(path: Path) -> list[list[str]]:
    """All partitions of a partition file, validated."""
    if not path.is_file():
        raise DatasetError(f"partition file {path} does not exist")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"partition file {path} is not valid JSON: {err}") from err
    partitions = document.get("partitions") if isinstance(document, dict) else None
    valid = isinstance(partitions, list) and all(
        isinstance(part, list) and all(isinstance(name, str) for name in part)
        for part in partitions
    )
    if not valid or not partitions:
        raise DatasetError(
            f"partition file {path} must hold a JSON object with a non-empty "
            '"partitions" list of lists of video names'
        )
    return partitions


def read_partition(
    path: str | Path, partition_id: int, num_partitions: int
) -> list[str]:
    """Read the video names of one client from a partition file.

    Raises
    ------
    DatasetError
        If the file is missing or invalid (naming it), ``partition_id`` is out of
        range for the file, or ``num_partitions`` differs from the file's count.
    """
    path = Path(path)
    partitions = _load_partitions(path)
    if not 0 <= partition_id < len(partitions):
        raise DatasetError(
            f"partition-id {partition_id} out of range: file {path} has "
            f"{len(partitions)} partitions"
        )
    if num_partitions != len(partitions):
        raise DatasetError(
            f"num-partitions {num_partitions} does not match partition file {path}, "
            f"which has {len(partitions)} partitions"
        )
    return list(partitions[partition_id])


def select_partition(
    videos: Sequence[Video],
    partitioning: str,
    partition_id: int,
    num_partitions: int,
    skew: float = DEFAULT_SKEW,
) -> list[Video]:
    """Select the videos of client ``partition_id``.

    Parameters
    ----------
    videos : Sequence[Video]
        All training videos, in dataset order.
    partitioning : str
        ``"iid"``, ``"quantity-skew"`` or the path of a partition JSON file
        (setting ``vsr.partitioning``).
    partition_id, num_partitions : int
        The client's partition and the number of clients.
    skew : float
        Exponent ``a`` of the quantity skew (sizes ∝ ``exp(a·i)``).

    Raises
    ------
    DatasetError
        If ``partition_id`` is out of range, ``partitioning`` is unknown, the
        partition file names an unknown video, or the counts do not fit.
    """
    if not 0 <= partition_id < num_partitions:
        raise DatasetError(
            f"partition-id {partition_id} out of range for "
            f"num-partitions {num_partitions}"
        )
    if partitioning == "iid":
        return [
            videos[i] for i in partition_iid(len(videos), num_partitions)[partition_id]
        ]
    if partitioning == "quantity-skew":
        chunks = partition_quantity_skew(len(videos), num_partitions, skew)
        return [videos[i] for i in chunks[partition_id]]
    path = Path(partitioning).expanduser()
    if not path.is_file():
        raise DatasetError(
            f"vsr.partitioning={partitioning!r} is neither 'iid', 'quantity-skew' nor "
            "an existing partition JSON file"
        )
    by_name = {video.name: video for video in videos}
    selected = []
    for name in read_partition(path, partition_id, num_partitions):
        if name not in by_name:
            raise DatasetError(
                f"partition file {path} names video {name!r}, which is not in the "
                "dataset's training videos"
            )
        selected.append(by_name[name])
    return selected
