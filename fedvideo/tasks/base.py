"""The interface between the task-agnostic Flower apps and one learning task.

A task owns everything specific to a problem: its section of the run config, the
model, a client's data, local training and evaluation. The ServerApp and ClientApp
only move weights and metrics between a :class:`Task` and a strategy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from flwr.app import RecordDict
from torch import nn

from fedvideo.config import FederationConfig
from fedvideo.training import ProximalTerm
from fedvideo.utils import derive_seed, set_seed

__all__ = [
    "DATA_DIR_KEY",
    "ClientInfo",
    "EvalResult",
    "PlotSpec",
    "RoundInfo",
    "Task",
    "TrainResult",
]

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

    @classmethod
    def from_node_config(cls, node_config: Mapping[str, Any]) -> ClientInfo:
        """Read the client's partition or local data folder from its node config.

        Raises
        ------
        ValueError
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
            raise ValueError(
                f"node config has no {err.args[0]!r}: start the SuperNode with "
                '--node-config "partition-id=<i> num-partitions=<n>" or with a '
                "local data folder, --node-config \"data-dir='/path/to/data'\""
            ) from None
        if num < 1 or not 0 <= pid < num:
            raise ValueError(
                f"node config: partition-id {pid} out of range for num-partitions {num}"
            )
        return cls(partition_id=pid, num_partitions=num, data_dir=data_dir)


def _node_data_dir(node_config: Mapping[str, Any]) -> str | None:
    """Return the node config's ``data-dir`` as an existing folder, or None.

    An empty string counts as unset.

    Raises
    ------
    ValueError
        Naming the key and the path if it is no string or no existing folder.
    """
    value = node_config.get(DATA_DIR_KEY)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(
            f"node config '{DATA_DIR_KEY}' must be a quoted path string, got "
            f"{value!r}: --node-config \"{DATA_DIR_KEY}='/path/to/data'\""
        )
    folder = Path(value).expanduser()
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(
            f"node config '{DATA_DIR_KEY}': {folder} {reason} on this SuperNode "
            "(use an absolute path: relative ones resolve against the SuperNode's "
            "working directory)"
        )
    return str(folder)


@dataclass(frozen=True)
class RoundInfo:
    """Where a client call sits in the federated schedule, and its round config.

    ``proximal_mu`` is FedProx's weight of the proximal term, sent by the
    ``fedprox`` strategy (0 for every other strategy: no term).
    """

    server_round: int
    num_rounds: int
    proximal_mu: float = 0.0


@dataclass
class TrainResult:
    """What a client reports after local training."""

    num_examples: int
    train_loss: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class EvalResult:
    """What a client reports after local evaluation."""

    num_examples: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class PlotSpec:
    """Which server-side metrics go into the per-round plot."""

    title: str
    ylabel: str
    series: tuple[tuple[str, str], ...]  # (metric key, legend label)


class Task(ABC):
    """One federated learning problem (``vsr``, later ``ssl`` and ``pose``).

    Parameters
    ----------
    run_config : Mapping[str, Any]
        The flat run config; the task validates its own section in ``__init__``.
    federation : FederationConfig
        The validated task-independent settings.
    """

    name: ClassVar[str]
    plot: ClassVar[PlotSpec]
    #: Whether the task implements the run config's ``multigrid`` training.
    supports_multigrid: ClassVar[bool] = False

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        self.federation = federation

    @abstractmethod
    def build_model(self) -> nn.Module:
        """Build the model with freshly initialised (or locally loaded) weights."""

    def initial_model(self) -> nn.Module:
        """Build the server's starting model (default: :meth:`build_model`).

        Weights that only the starting point needs, such as pretrained
        backbones, belong here: clients build their model with
        :meth:`build_model` and overwrite it with the global weights anyway.
        """
        return self.build_model()

    def global_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Return the tensors that are federated (default: the whole state_dict)."""
        return model.state_dict()

    def load_global_state(
        self, model: nn.Module, state: Mapping[str, torch.Tensor]
    ) -> None:
        """Load federated tensors received from the server into ``model``."""
        model.load_state_dict(state, strict=True)

    def export_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Return what is saved as the run's ``model.pt`` (default: the state_dict)."""
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}

    def seed_round(self, client: ClientInfo, round_info: RoundInfo) -> int:
        """Seed every RNG for one client's round and return the seed."""
        seed = derive_seed(
            self.federation.seed, client.partition_id, round_info.server_round
        )
        set_seed(seed)
        return seed

    def local_step_count(self, batches_per_epoch: int) -> int:
        """Return a round's steps: ``local-steps`` if > 0, else epochs × batches."""
        federation = self.federation
        return federation.local_steps or federation.local_epochs * batches_per_epoch

    def proximal_term(
        self, model: nn.Module, round_info: RoundInfo
    ) -> ProximalTerm | None:
        """FedProx's term over the federated parameters, or None when mu is 0.

        Call it after the global weights were loaded, before training.
        """
        if round_info.proximal_mu <= 0:
            return None
        return ProximalTerm(model, round_info.proximal_mu, self.global_state(model))

    @staticmethod
    def progress_label(client: ClientInfo, round_info: RoundInfo) -> str:
        """Prefix of a client's progress lines, e.g. ``client 0 round 2/10``."""
        return (
            f"client {client.partition_id} round "
            f"{round_info.server_round}/{round_info.num_rounds}"
        )

    @abstractmethod
    def train(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        device: torch.device,
        local_state: RecordDict,
    ) -> TrainResult:
        """Train ``model`` on the client's data for one round.

        ``local_state`` is the client's persistent Flower context state, for
        parameters that stay on the client between rounds.
        """

    @abstractmethod
    def evaluate(
        self, model: nn.Module, client: ClientInfo, device: torch.device
    ) -> EvalResult:
        """Evaluate ``model`` on the client's local data."""

    @abstractmethod
    def evaluate_global(
        self, model: nn.Module, device: torch.device
    ) -> dict[str, float]:
        """Evaluate ``model`` on the held-out test data (server side)."""

    def round_schedule(self, server_round: int) -> dict[str, float]:
        """Return what round ``server_round`` trains with (default: nothing).

        A task whose training shape changes over the rounds (multigrid VSR)
        returns it here; the server records it with the round.
        """
        return {}

    def final_evaluation(
        self, model: nn.Module, device: torch.device, run_dir: Path
    ) -> dict[str, float]:
        """Extra evaluation of the final global model (default: none).

        Detailed results (tables, plots) may be written into ``run_dir``; the
        returned summary goes into ``results.json`` as ``final_evaluation``.
        """
        return {}
