"""Load the data of an experiment by name: a client's partition or the test set.

The datasets themselves live in their task packages
(``fedvideo.tasks.<task>.data``); this entry point returns what a run config
gives one client, or the server's held-out data, e.g.::

    from fedvideo.dataset import load_client_data, load_test_data

    videos = load_client_data(partition_id=0, num_partitions=4)
    people = load_test_data({"task": "pose"})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fedvideo.config import default_run_config
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import Task
from fedvideo.tasks import build_task, federation_config

__all__ = ["load_client_data", "load_test_data"]


def _task(overrides: Mapping[str, Any] | None) -> Task:
    run_config = default_run_config(overrides)
    return build_task(run_config, federation_config(run_config))


def load_client_data(
    partition_id: int,
    num_partitions: int,
    overrides: Mapping[str, Any] | None = None,
) -> Sequence[Any]:
    """Return the training items of one client, as its ClientApp sees them.

    Parameters
    ----------
    partition_id, num_partitions : int
        The client's partition, as in a SuperNode's node config.
    overrides : Mapping[str, Any], optional
        Run-config keys that differ from ``[tool.flwr.app.config]``.

    Returns
    -------
    Sequence
        Videos (``vsr``, ``ssl``) or person records (``pose``).

    Raises
    ------
    ConfigError
        If a setting is invalid or the partition is out of range.
    """
    if not 0 <= partition_id < num_partitions:
        raise ValueError(
            f"partition_id {partition_id} out of range for {num_partitions} partitions"
        )
    client = ClientInfo(partition_id=partition_id, num_partitions=num_partitions)
    return _task(overrides).client_data(client)


def load_test_data(overrides: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """Return the held-out items the server evaluates on.

    Raises
    ------
    ConfigError
        If a setting is invalid or the dataset has no test split.
    """
    return _task(overrides).test_data()
