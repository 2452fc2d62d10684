"""Flower baseline entry point for strategies; see :mod:`fedvideo.strategies`."""

from fedvideo.strategies import (
    STRATEGIES,
    FedVideoStrategy,
    FedVSR,
    build_strategy,
    fedvsr_weights,
)

__all__ = [
    "STRATEGIES",
    "FedVSR",
    "FedVideoStrategy",
    "build_strategy",
    "fedvsr_weights",
]
