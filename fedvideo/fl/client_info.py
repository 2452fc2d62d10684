"""Which data a client trains on: a partition of the run's dataset or its own folder.

In simulation Flower sets ``partition-id`` and ``num-partitions`` in a node's
config; in deployment they come from ``flower-supernode --node-config``, which
may instead name a folder of the SuperNode's own data (``data-dir``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fedvideo.data.errors import DatasetError

__all__ = ["DATA_DIR_KEY", "ClientInfo", "NodeConfigError", "read_node_data"]

T = TypeVar("T")


class NodeConfigError(ValueError):
    """A SuperNode's node config lacks a key or holds an invalid value."""


#: Node-config key of a SuperNode's own data folder (see :class:`ClientInfo`).
DATA_DIR_KEY = "data-dir"


@dataclass(frozen=True)
class ClientInfo:
    """Which part of the federated data a client holds.

    In simulation Flower sets ``partition-id`` and ``num-partitions`` in the node
    config; in deployment they come from ``flower-supernode --node-config``.

    A SuperNode with data of its own sets ``data-dir`` instead: the folder is
    the client's whole local training set (read by the task's folder loader)
    and the run config's dataset is not partitioned. ``partition-id`` and
    ``num-partitions`` are then optional (default 0 of 1); give every such
    SuperNode its own ``partition-id`` anyway, as it seeds the client's random
    crops and names it in the results (and picks a pose client's resolution).
    """

    partition_id: int
    num_partitions: int
    data_dir: str | None = None

    @property
    def label(self) -> str:
        """How messages name the client, e.g. ``partition 1 of 4``."""
        where = f"partition {self.partition_id} of {self.num_partitions}"
        return where if self.data_dir is None else f"{where}, data-dir {self.data_dir}"

    @classmethod
    def from_node_config(cls, node_config: Mapping[str, Any]) -> ClientInfo:
        """Read the client's partition or local data folder from its node config.

        Raises
        ------
        NodeConfigError
            If neither a partition nor ``data-dir`` is given, the id is out of
            range, or ``data-dir`` is no string or no existing folder.
        """
        data_dir = _node_data_dir(node_config)
        defaults = {} if data_dir is None else {"partition-id": 0, "num-partitions": 1}
        config = {**defaults, **node_config}
        try:
            pid = int(config["partition-id"])
            num = int(config["num-partitions"])
        except KeyError as err:
            raise NodeConfigError(
                f"node config has no {err.args[0]!r}: start the SuperNode with "
                '--node-config "partition-id=<i> num-partitions=<n>" or with a '
                "local data folder, --node-config \"data-dir='/path/to/data'\""
            ) from None
        if num < 1 or not 0 <= pid < num:
            raise NodeConfigError(
                f"node config: partition-id {pid} out of range for num-partitions {num}"
            )
        return cls(partition_id=pid, num_partitions=num, data_dir=data_dir)


def _node_data_dir(node_config: Mapping[str, Any]) -> str | None:
    """Return the node config's ``data-dir`` as an existing folder, or None.

    An empty string counts as unset.

    Raises
    ------
    NodeConfigError
        Naming the key and the path if it is no string or no existing folder.
    """
    value = node_config.get(DATA_DIR_KEY)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NodeConfigError(
            f"node config '{DATA_DIR_KEY}' must be a quoted path string, got "
            f"{value!r}: --node-config \"{DATA_DIR_KEY}='/path/to/data'\""
        )
    folder = Path(value).expanduser()
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise NodeConfigError(
            f"node config '{DATA_DIR_KEY}': {folder} {reason} on this SuperNode "
            "(use an absolute path: relative ones resolve against the SuperNode's "
            "working directory)"
        )
    return str(folder)


def read_node_data(
    data_dir: str, load: Callable[[str], Sequence[T]], nothing_found: str
) -> list[T]:
    """Load a SuperNode's own training data with errors that name ``data-dir``.

    Parameters
    ----------
    data_dir : str
        The folder of the node config's ``data-dir``.
    load : callable
        The task's loader of that folder, returning its training items.
    nothing_found : str
        End of the message when the folder holds no training items, after
        ``"<folder> has no "``, e.g. ``"training videos (...)"``.

    Raises
    ------
    DatasetError
        If ``load`` fails or finds nothing; the message starts with the node
        config key.
    """
    try:
        items = load(data_dir)
    except DatasetError as err:
        raise DatasetError(f"node config '{DATA_DIR_KEY}': {err}") from None
    if not items:
        raise DatasetError(
            f"node config '{DATA_DIR_KEY}': {data_dir} has no {nothing_found}"
        )
    return list(items)
