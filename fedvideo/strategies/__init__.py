"""Aggregation strategies, chosen by name with the run config's ``strategy``.

Each strategy is a small subclass of Flower's FedAvg (through
:class:`~fedvideo.strategies.base.FedVideoStrategy`) that changes only what its
method changes. To add one, write its module and register it in ``STRATEGIES``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fedvideo.config import (
    ConfigError,
    FederationConfig,
    at_least,
    in_unit_interval,
    lookup,
    parse_section,
)
from fedvideo.strategies.base import ClientUpdate, FedVideoStrategy, RoundReport
from fedvideo.strategies.fedprox import FedProx
from fedvideo.strategies.fedvsr import FedVSR, fedvsr_weights, hellinger_distance
from fedvideo.strategies.fedvssl import LossAware, SWAMixed, fedvssl_weights
from fedvideo.strategies.validation import ReplyLimits

__all__ = [
    "STRATEGIES",
    "ClientUpdate",
    "FedProx",
    "FedProxConfig",
    "FedVSR",
    "FedVideoStrategy",
    "FedVSSLConfig",
    "LossAware",
    "ReliabilityConfig",
    "ReplyLimits",
    "RoundReport",
    "SWAMixed",
    "build_strategy",
    "fedvsr_weights",
    "fedvssl_weights",
    "hellinger_distance",
]

STRATEGIES: dict[str, type[FedVideoStrategy]] = {
    "fedavg": FedVideoStrategy,
    "fedprox": FedProx,
    "fedvsr": FedVSR,
    "loss-aware": LossAware,
    "swa-mixed": SWAMixed,
}


@dataclasses.dataclass(frozen=True)
class FedVSSLConfig:
    """Settings of the FedVSSL strategies (``[tool.flwr.app.config.fedvssl]``)."""

    alpha: float = dataclasses.field(metadata=in_unit_interval())
    swa_decay: float = dataclasses.field(metadata=in_unit_interval())

    def __post_init__(self) -> None:
        """Reject a decay of 0, which would freeze the global model."""
        if self.swa_decay == 0.0:
            raise ConfigError("run config 'fedvssl.swa-decay' must be > 0")


@dataclasses.dataclass(frozen=True)
class FedProxConfig:
    """Settings of FedProx (``[tool.flwr.app.config.fedprox]``)."""

    mu: float = dataclasses.field(metadata=at_least(0.0))


@dataclasses.dataclass(frozen=True)
class ReliabilityConfig:
    """Reply acceptance and failure injection (``[..config.reliability]``)."""

    min_train_replies: int = dataclasses.field(metadata=at_least(1))
    max_num_examples: int = dataclasses.field(metadata=at_least(1))
    max_train_loss: float
    upload_loss: float = dataclasses.field(metadata=in_unit_interval())

    def __post_init__(self) -> None:
        """Reject a loss bound that no sound reply could meet."""
        if not self.max_train_loss > 0:
            raise ConfigError(
                "run config 'reliability.max-train-loss' must be > 0, got "
                f"{self.max_train_loss}"
            )


def _strategy_options(name: str, run_config: Mapping[str, Any]) -> dict[str, Any]:
    """Method-specific constructor arguments of strategy ``name``."""
    if name == "fedprox":
        return {"proximal_mu": parse_section(run_config, FedProxConfig, "fedprox").mu}
    if name not in ("loss-aware", "swa-mixed"):
        return {}
    fedvssl = parse_section(run_config, FedVSSLConfig, "fedvssl")
    options: dict[str, Any] = {"alpha": fedvssl.alpha}
    if name == "swa-mixed":
        options["decay"] = fedvssl.swa_decay
    return options


def build_strategy(
    federation: FederationConfig, run_config: Mapping[str, Any]
) -> FedVideoStrategy:
    """Instantiate the strategy named by the run config's ``strategy``.

    Raises
    ------
    ConfigError
        If the name is not registered (the message lists the valid names) or
        the strategy's settings are invalid.
    """
    cls = lookup(STRATEGIES, "strategy", federation.strategy)
    reliability = parse_section(run_config, ReliabilityConfig, "reliability")
    return cls(
        num_rounds=federation.num_server_rounds,
        min_train_replies=reliability.min_train_replies,
        upload_loss=reliability.upload_loss,
        seed=federation.seed,
        limits=ReplyLimits(reliability.max_num_examples, reliability.max_train_loss),
        fraction_train=federation.fraction_train,
        min_train_nodes=federation.min_train_nodes,
        fraction_evaluate=federation.fraction_evaluate,
        min_evaluate_nodes=0 if federation.fraction_evaluate == 0 else 1,
        min_available_nodes=federation.min_available_nodes,
        **_strategy_options(federation.strategy, run_config),
    )
