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
from typing import Any, Protocol, TypeVar

import numpy as np

from fedvideo.data.errors import DatasetError, read_json_file, require_int

__all__ = [
    "DEFAULT_SKEW",
    "SCHEMES",
    "partition_by_class",
    "partition_iid",
    "partition_iid_shuffled",
    "partition_kinetics_noniid",
    "partition_names",
    "partition_quantity_skew",
    "read_labels",
    "read_partition",
    "select_partition",
    "write_partition_file",
]


class Named(Protocol):
    """Anything with a unique ``name`` in its dataset (a video, a clip)."""

    @property
    def name(self) -> str:
        """The item's name."""
        ...


NamedT = TypeVar("NamedT", bound=Named)

#: The ``a`` of :func:`partition_quantity_skew` used for ``"quantity-skew"``.
DEFAULT_SKEW = 0.1
#: Draws of the large-class client order in :func:`partition_kinetics_noniid`.
_MAX_DRAWS = 50
#: Partitioning schemes understood by :func:`partition_names`.
SCHEMES: tuple[str, ...] = (
    "iid",
    "quantity-skew",
    "by-class",
    "iid-shuffled",
    "kinetics-noniid",
)


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


def partition_iid_shuffled(
    num_items: int, num_partitions: int, seed: int = 0
) -> list[list[int]]:
    """Shuffled chunks of (nearly) equal size (FedVSSL's UCF-101 IID split).

    The indices are permuted with ``np.random.default_rng(seed)`` and cut into
    ``num_partitions`` consecutive chunks, the first ``num_items %
    num_partitions`` of which hold one item more. Each chunk is returned sorted.

    Raises
    ------
    DatasetError
        If ``num_partitions`` is < 1 or > ``num_items``, or ``seed`` is not an
        integer >= 0.
    """
    num_items, num_partitions = _check_counts(num_items, num_partitions)
    order = np.random.default_rng(require_int(seed, "seed", 0)).permutation(num_items)
    return [
        sorted(int(order[i]) for i in chunk)
        for chunk in partition_iid(num_items, num_partitions)
    ]


def _class_key(label: int | str) -> tuple[bool, int | str]:
    """Sort key for class labels: numbers (numerically) before strings."""
    return isinstance(label, str), label


def _deal_halves(
    rng: np.random.Generator,
    group: Sequence[int | str],
    clients: np.ndarray,
    half_group: int,
) -> list[list[tuple[int | str, int]]]:
    """Deal the two halves of every class of ``group`` to clients, in blocks.

    The classes are shuffled and listed twice (first halves, then second
    halves); block ``b`` of ``half_group`` consecutive halves goes to client
    ``clients[b]``. Returns the ``(class, half)`` pairs of every client.
    """
    shuffled = [group[i] for i in rng.permutation(len(group))]
    sequence = [(c, 0) for c in shuffled] + [(c, 1) for c in shuffled]
    dealt: list[list[tuple[int | str, int]]] = [[] for _ in range(len(clients))]
    for position, pair in enumerate(sequence):
        dealt[int(clients[position // half_group])].append(pair)
    return dealt


def partition_kinetics_noniid(
    labels: Sequence[int | str],
    num_partitions: int = 100,
    classes_per_client: int = 8,
    seed: int = 0,
) -> list[list[int]]:
    """FedVSSL's non-IID Kinetics-400 split: half-classes, small and large.

    Classes are sorted by their number of items (ties by class label); the
    first half are the *small* classes, the second half the *large* ones. The
    items of every class are shuffled and cut into two halves (the first one
    takes the odd item), which go to two different clients. Every client gets
    ``classes_per_client / 2`` small-class halves and as many large-class
    halves, all of distinct classes.

    Within each group (small or large), the classes are shuffled and written
    twice in a row as a list of halves ``[c_1 first half, ..., c_g first half,
    c_1 second half, ..., c_g second half]``, which is cut into consecutive
    blocks of ``classes_per_client / 2`` halves; block ``b`` of the small group
    goes to client ``b`` and block ``b`` of the large group to client
    ``perm[b]`` for a random permutation ``perm`` (redrawn, up to 50 times,
    until no two clients hold the same set of classes). Since a block is shorter
    than the group, a client's classes are distinct and the two halves of a
    class go to different clients. All randomness comes from
    ``np.random.default_rng(seed)``. With 400 classes, 100 clients and 8 classes
    per client, every client holds 4 small and 4 large half-classes.

    Parameters
    ----------
    labels : Sequence[int or str]
        The class of every item.
    num_partitions : int
        Number of clients (>= 2).
    classes_per_client : int
        Half-classes per client; even and >= 2.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    list[list[int]]
        The item indices of every client, sorted.

    Raises
    ------
    DatasetError
        Unless ``num_classes == num_partitions * classes_per_client / 2`` (each
        class is shared by two clients, each client holds ``classes_per_client``
        halves), the number of classes is even (equal small and large groups),
        ``classes_per_client`` is even and every class has at least 2 items.
    """
    num_partitions = require_int(num_partitions, "num-partitions", 2)
    per_client = require_int(classes_per_client, "classes-per-client", 2)
    rng = np.random.default_rng(require_int(seed, "seed", 0))
    members: dict[int | str, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    num_classes = len(members)
    if (
        per_client % 2
        or num_classes % 2
        or num_classes * 2 != num_partitions * per_client
    ):
        raise DatasetError(
            "kinetics-noniid partitioning needs an even classes-per-client and "
            "an even number of classes equal to num-partitions * "
            "classes-per-client / 2 (every class is split between 2 clients, "
            f"every client gets classes-per-client halves); got {num_classes} "
            f"classes, num-partitions={num_partitions}, "
            f"classes-per-client={per_client}"
        )
    if tiny := [label for label, items in members.items() if len(items) < 2]:
        raise DatasetError(
            f"kinetics-noniid partitioning splits every class into two halves, but "
            f"class {tiny[0]!r} has fewer than 2 videos"
        )
    by_size = sorted(members, key=lambda c: (len(members[c]), _class_key(c)))
    halves: dict[int | str, tuple[list[int], list[int]]] = {}
    for label in sorted(members, key=_class_key):
        items = [members[label][i] for i in rng.permutation(len(members[label]))]
        cut = (len(items) + 1) // 2
        halves[label] = (items[:cut], items[cut:])
    half_group = per_client // 2
    small = _deal_halves(
        rng, by_size[: num_classes // 2], np.arange(num_partitions), half_group
    )
    for _ in range(_MAX_DRAWS):
        large = _deal_halves(
            rng,
            by_size[num_classes // 2 :],
            rng.permutation(num_partitions),
            half_group,
        )
        class_sets = {
            frozenset(label for label, _ in small[k] + large[k])
            for k in range(num_partitions)
        }
        if len(class_sets) == num_partitions:
            break
    partitions: list[list[int]] = [[] for _ in range(num_partitions)]
    for client in range(num_partitions):
        for label, half in small[client] + large[client]:
            partitions[client].extend(halves[label][half])
    return [sorted(part) for part in partitions]


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


def _labels_of(
    names: Sequence[str], labels: Mapping[str, int | str] | None, scheme: str
) -> list[int | str]:
    """Label of every name, or raise naming the scheme and a name without one."""
    if labels is None:
        raise DatasetError(f"scheme {scheme!r} needs labels (--labels FILE)")
    if missing := [name for name in names if name not in labels]:
        raise DatasetError(
            f"no label for {len(missing)} clip(s), e.g. {missing[0]!r} "
            f"({scheme} needs a label for every clip)"
        )
    return [labels[name] for name in names]


def partition_names(
    names: Sequence[str],
    scheme: str,
    num_partitions: int,
    alpha: float = DEFAULT_SKEW,
    labels: Mapping[str, int | str] | None = None,
    seed: int = 0,
    classes_per_client: int = 8,
) -> list[list[str]]:
    """Split video names with a named scheme (one of :data:`SCHEMES`).

    Parameters
    ----------
    names : Sequence[str]
        Video names, in dataset order.
    scheme : str
        ``iid``, ``quantity-skew``, ``by-class``, ``iid-shuffled`` or
        ``kinetics-noniid``.
    num_partitions : int
        Number of clients.
    alpha : float
        The ``a`` of ``quantity-skew``.
    labels : Mapping[str, int or str] or None
        Label of every name, required for ``by-class`` and ``kinetics-noniid``.
    seed : int
        Seed of ``iid-shuffled`` and ``kinetics-noniid``.
    classes_per_client : int
        Half-classes per client of ``kinetics-noniid``.

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
        groups = partition_by_class(_labels_of(names, labels, scheme), num_partitions)
    elif scheme == "iid-shuffled":
        groups = partition_iid_shuffled(len(names), num_partitions, seed)
    elif scheme == "kinetics-noniid":
        groups = partition_kinetics_noniid(
            _labels_of(names, labels, scheme), num_partitions, classes_per_client, seed
        )
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
    document = read_json_file(path, "partition file")
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
    videos: Sequence[NamedT],
    partitioning: str,
    partition_id: int,
    num_partitions: int,
    skew: float = DEFAULT_SKEW,
    key: str = "vsr.partitioning",
) -> list[NamedT]:
    """Select the videos of client ``partition_id``.

    Parameters
    ----------
    videos : Sequence
        All training videos (anything with a ``name``), in dataset order.
    partitioning : str
        ``"iid"``, ``"quantity-skew"`` or the path of a partition JSON file.
    partition_id, num_partitions : int
        The client's partition and the number of clients.
    skew : float
        Exponent ``a`` of the quantity skew (sizes ∝ ``exp(a·i)``).
    key : str
        The run-config setting of ``partitioning``, named in errors.

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
            f"{key}={partitioning!r} is neither 'iid', 'quantity-skew' nor "
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
