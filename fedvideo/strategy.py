"""The registry of aggregation strategies, chosen by the run config's ``strategy``.

To add a strategy, write its module in :mod:`fedvideo.strategies` (a subclass
of :class:`~fedvideo.strategies.base.FedVideoStrategy` that reads its own
run-config section in ``method_options`` and, if the method has one, builds
its clients' term in ``client_term``), add one line to ``STRATEGIES`` and its
section to ``[tool.flwr.app.config]`` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedvideo.config import FederationConfig, lookup
from fedvideo.strategies.base import FedVideoStrategy
from fedvideo.strategies.fedprox import FedProx
from fedvideo.strategies.fedvsr import FedVSR
from fedvideo.strategies.fedvssl import LossAware, SWAMixed

__all__ = ["STRATEGIES", "build_strategy", "strategy_class"]

#: Strategy name -> class.
STRATEGIES: dict[str, type[FedVideoStrategy]] = {
    "fedavg": FedVideoStrategy,
    "fedprox": FedProx,
    "fedvsr": FedVSR,
    "loss-aware": LossAware,
    "swa-mixed": SWAMixed,
}


def strategy_class(name: str) -> type[FedVideoStrategy]:
    """Return the strategy class registered as ``name``.

    Raises
    ------
    ConfigError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(STRATEGIES, "strategy", name)


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
    return strategy_class(federation.strategy).from_run_config(run_config, federation)
