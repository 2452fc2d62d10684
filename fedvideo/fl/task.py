"""The interface between the task-agnostic federated core and one learning task.

A task owns everything specific to a problem: its section of the run config, the
model, a client's data, what a client round trains with, and evaluation. The
core runs the rounds (:func:`fedvideo.fl.training.local_round` on a client, the
strategy and :mod:`fedvideo.fl.after_round` on the server) and only moves
weights and metrics between a :class:`Task` and a strategy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from flwr.app import RecordDict
from torch import nn

from fedvideo.config import FederationConfig
from fedvideo.fl.client_info import ClientInfo
from fedvideo.utils import derive_seed, set_seed

__all__ = [
    "EvalResult",
    "LocalTraining",
    "LossFn",
    "PlotSpec",
    "RoundInfo",
    "Task",
    "TrainResult",
]

#: ``loss_fn(model, batch) -> (loss, parts)``: a scalar to back-propagate and
#: named floats (loss components) that are averaged over the round's steps.
LossFn = Callable[[nn.Module, Mapping[str, Any]], tuple[torch.Tensor, dict]]


@dataclass(frozen=True)
class RoundInfo:
    """Where a client call sits in the federated schedule, and its round config.

    ``config`` is the strategy's configuration of the round as sent in the
    train message (e.g. FedProx's ``proximal-mu``); the core hands it to the
    strategy's client-side hook, tasks do not read it.
    """

    server_round: int
    num_rounds: int
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LocalTraining:
    """What one client round trains with; the core runs the steps.

    Built by :meth:`Task.local_training` after the round's seed is set;
    :func:`fedvideo.fl.training.local_round` runs ``num_steps`` steps of
    ``loss_fn`` (plus a strategy's client-side term) with ``optimizer`` at the
    learning rate ``lr_at(step)``, then calls ``finish``.
    """

    batches: Iterator[Mapping[str, Any]]
    num_steps: int
    num_examples: int  # reported to the server: the size of the local dataset
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    lr_at: Callable[[int], float]  # local step (0-based) -> learning rate
    grad_clip: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # reported as well
    finish: Callable[[], None] | None = None  # e.g. keep client-side weights


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
    """What a run's plots show.

    ``metrics.png`` shows the server-side metrics of `series` per round;
    ``loss.png`` the clients' mean training loss with the loss parts of
    `loss_references` (e.g. a trivial baseline the loss must go below).
    """

    title: str
    ylabel: str
    series: tuple[tuple[str, str], ...]  # (metric key, legend label)
    loss_references: tuple[tuple[str, str], ...] = ()  # (loss part, legend label)


class Task(ABC):
    """One federated learning problem (``vsr``, ``ssl``, ``pose``).

    Parameters
    ----------
    run_config : Mapping[str, Any]
        The flat run config; the task validates its own section in ``__init__``.
    federation : FederationConfig
        The validated task-independent settings.
    """

    name: ClassVar[str]
    plot: ClassVar[PlotSpec]
    #: The strategy of the task's method, used when the run config's
    #: ``strategy`` is empty.
    default_strategy: ClassVar[str]
    #: Whether the task implements the run config's ``multigrid`` training.
    supports_multigrid: ClassVar[bool] = False

    def __init__(self, run_config: Mapping[str, Any], federation: FederationConfig):
        self.federation = federation

    # ----------------------------------------------------------------- model
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

    # ------------------------------------------------------------------ data
    @abstractmethod
    def client_data(self, client: ClientInfo) -> Sequence[Any]:
        """Return the training items (videos, people, ...) one client holds."""

    @abstractmethod
    def test_data(self) -> Sequence[Any]:
        """Return the held-out items the server evaluates on."""

    def check_client_data(self, client: ClientInfo) -> None:
        """Check cheaply that a client's whole training data can be read.

        Called once per client process before its first round, so that a
        missing, corrupt or mismatched file fails at once with its name rather
        than in whichever later step happens to sample it. It builds the
        client's items (:meth:`client_data`), which checks the partition, and
        calls ``verify()`` on every item that has one (the bundled tasks'
        videos and images check every file's header, checksums and size).

        Raises
        ------
        DatasetError, ConfigError
            Naming the file or setting at fault.
        """
        for item in self.client_data(client):
            verify = getattr(item, "verify", None)
            if verify is not None:
                verify()

    # -------------------------------------------------------------- training
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

    @staticmethod
    def progress_label(client: ClientInfo, round_info: RoundInfo) -> str:
        """Prefix of a client's progress lines, e.g. ``client 0 round 2/10``."""
        return (
            f"client {client.partition_id} round "
            f"{round_info.server_round}/{round_info.num_rounds}"
        )

    @abstractmethod
    def local_training(
        self,
        model: nn.Module,
        client: ClientInfo,
        round_info: RoundInfo,
        seed: int,
        device: torch.device,
        local_state: RecordDict,
    ) -> LocalTraining:
        """Set up one round of local training of ``model`` on the client's data.

        ``model`` holds the global weights; every RNG was seeded with ``seed``
        (:meth:`seed_round`). ``local_state`` is the client's persistent Flower
        context state, for parameters that stay on the client between rounds.
        """

    def round_schedule(self, server_round: int) -> dict[str, float]:
        """Return what round ``server_round`` trains with (default: nothing).

        A task whose training shape changes over the rounds (multigrid VSR)
        returns it here; the server records it with the round.
        """
        return {}

    def resume_warning(self) -> str | None:
        """Say what a resumed run cannot restore of the clients' state (None: all).

        The server's checkpoint holds the global model and the strategy's
        state; state that clients keep in their Flower context does not
        survive a restart.
        """
        return None

    # ------------------------------------------------------------ evaluation
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

    def final_evaluation(
        self, model: nn.Module, device: torch.device, run_dir: Path
    ) -> dict[str, float]:
        """Extra evaluation of the final global model (default: none).

        Detailed results (tables, plots) may be written into ``run_dir``; the
        returned summary goes into ``results.json`` as ``final_evaluation``.
        """
        return {}
