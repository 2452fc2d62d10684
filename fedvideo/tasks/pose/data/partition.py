"""Pose clients: which training samples each holds, and at which resolution.

In RAF's setting every client sees its images at one native input resolution
(``H x W``). A partition file, written by ``fedvideo prepare pose``, is::

    {"task": "pose",
     "dataset": "<where the samples come from>",
     "clients": [{"resolution": "256x192", "samples": [0, 17, ...]}, ...]}

where ``samples`` index the training split in its file order (for MPII, the
entries of ``annotations/train.json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedvideo.data.errors import DatasetError, read_json_file

__all__ = [
    "PoseClientPartition",
    "Resolution",
    "assign_pose_partitions",
    "format_resolution",
    "parse_resolution",
    "read_pose_partition_file",
    "write_pose_partition_file",
]

#: An input size ``(height, width)`` in pixels.
Resolution = tuple[int, int]


def parse_resolution(text: str) -> Resolution:
    """Parse ``"256x192"`` (height x width) into ``(256, 192)``.

    Raises
    ------
    ValueError
        If ``text`` is not two positive integers joined by ``x``.
    """
    parts = text.strip().lower().split("x")
    try:
        height, width = (int(part) for part in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not a resolution 'HEIGHTxWIDTH'") from None
    if height < 1 or width < 1:
        raise ValueError(f"resolution {text!r} must be positive")
    return height, width


def format_resolution(resolution: Resolution) -> str:
    """Format ``(256, 192)`` as ``"256x192"``."""
    return f"{resolution[0]}x{resolution[1]}"


@dataclass(frozen=True)
class PoseClientPartition:
    """One client's native resolution and training-sample indices."""

    resolution: Resolution
    samples: tuple[int, ...]


def assign_pose_partitions(
    num_samples: int,
    client_resolutions: Sequence[Resolution],
    samples_per_client: int = 0,
    seed: int = 0,
) -> list[PoseClientPartition]:
    """Split shuffled samples into disjoint client shares with given resolutions.

    Parameters
    ----------
    num_samples : int
        Size of the training split.
    client_resolutions : Sequence[Resolution]
        Native resolution of each client (its length is the number of clients).
    samples_per_client : int
        Samples per client (RAF: 4,000 MPII images each); 0 splits all samples
        into near-equal shares.
    seed : int
        Seed of the shuffle.

    Raises
    ------
    DatasetError
        If there are fewer samples than the clients need.
    """
    num_clients = len(client_resolutions)
    if num_clients < 1:
        raise DatasetError("pose partition: at least one client is needed")
    order = np.random.default_rng(seed).permutation(num_samples).tolist()
    if samples_per_client > 0:
        needed = samples_per_client * num_clients
        if needed > num_samples:
            raise DatasetError(
                f"pose partition: {num_clients} clients x {samples_per_client} "
                f"samples need {needed}, the training split has {num_samples}"
            )
        shares = [
            order[i * samples_per_client : (i + 1) * samples_per_client]
            for i in range(num_clients)
        ]
    else:
        if num_samples < num_clients:
            raise DatasetError(
                f"pose partition: {num_samples} samples cannot be split over "
                f"{num_clients} clients"
            )
        shares = [chunk.tolist() for chunk in np.array_split(order, num_clients)]
    return [
        PoseClientPartition(tuple(resolution), tuple(sorted(share)))
        for resolution, share in zip(client_resolutions, shares, strict=True)
    ]


def write_pose_partition_file(
    path: str | Path, partitions: Sequence[PoseClientPartition], dataset: str
) -> Path:
    """Write a pose partition file (see the module docstring) and return its path."""
    path = Path(path)
    document = {
        "task": "pose",
        "dataset": dataset,
        "clients": [
            {
                "resolution": format_resolution(part.resolution),
                "samples": list(part.samples),
            }
            for part in partitions
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def read_pose_partition_file(path: str | Path) -> list[PoseClientPartition]:
    """Read a pose partition file.

    Raises
    ------
    DatasetError
        If the file is missing, not JSON, or a client entry is malformed (the
        message names the file and the client).
    """
    path = Path(path).expanduser()
    document = read_json_file(path, "pose partition file")
    clients = document.get("clients") if isinstance(document, dict) else None
    if not isinstance(clients, list) or not clients:
        raise DatasetError(
            f'pose partition file {path} must hold a non-empty "clients" list'
        )
    partitions = []
    for i, client in enumerate(clients):
        try:
            resolution = parse_resolution(str(client["resolution"]))
            samples = tuple(int(s) for s in client["samples"])
        except (KeyError, TypeError, ValueError) as err:
            raise DatasetError(
                f"pose partition file {path}: client {i} needs a 'resolution' "
                f"('HxW') and a list of integer 'samples' ({err})"
            ) from None
        if any(s < 0 for s in samples):
            raise DatasetError(
                f"pose partition file {path}: client {i} has a negative sample index"
            )
        partitions.append(PoseClientPartition(resolution, samples))
    return partitions
