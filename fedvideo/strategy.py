"""Flower baseline entry point for strategies; see :mod:`fedvideo.strategies`."""

from fedvideo.strategies import (
    STRATEGIES,
    FedProx,
    FedVideoStrategy,
    FedVSR,
    build_strategy,
    fedvsr_weights,
)

__all__ = [
    "STRATEGIES",
    "FedProx",
    "FedVSR",
    "FedVideoStrategy",
    "build_strategy",
    "fedvsr_weights",
]
