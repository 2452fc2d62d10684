"""Aggregation strategies, chosen by name with the run config's ``strategy``.

Each strategy is a small subclass of Flower's FedAvg (through
:class:`~fedvideo.strategies.base.FedVideoStrategy`) that changes only what its
method changes. To add one, write its module and register it in ``STRATEGIES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedvideo.config import ConfigError, FederationConfig
from fedvideo.strategies.base import ClientUpdate, FedVideoStrategy, RoundReport
from fedvideo.strategies.fedvsr import FedVSR, fedvsr_weights, hellinger_distance

__all__ = [
    "STRATEGIES",
    "ClientUpdate",
    "FedVSR",
    "FedVideoStrategy",
    "RoundReport",
    "build_strategy",
    "fedvsr_weights",
    "hellinger_distance",
]

STRATEGIES: dict[str, type[FedVideoStrategy]] = {
    "fedavg": FedVideoStrategy,
    "fedvsr": FedVSR,
}


def build_strategy(
    federation: FederationConfig, run_config: Mapping[str, Any]
) -> FedVideoStrategy:
    """Instantiate the strategy named by the run config's ``strategy``.

    Raises
    ------
    ConfigError
        If the name is not registered (the message lists the valid names).
    """
    try:
        cls = STRATEGIES[federation.strategy]
    except KeyError:
        valid = ", ".join(sorted(STRATEGIES))
        raise ConfigError(
            f"run config 'strategy': unknown strategy {federation.strategy!r}; "
            f"valid names: {valid}"
        ) from None
    return cls(
        num_rounds=federation.num_server_rounds,
        fraction_train=federation.fraction_train,
        min_train_nodes=federation.min_train_nodes,
        fraction_evaluate=federation.fraction_evaluate,
        min_evaluate_nodes=0 if federation.fraction_evaluate == 0 else 1,
        min_available_nodes=federation.min_available_nodes,
    )
