"""Aggregation strategies: small subclasses of Flower's FedAvg.

Every strategy derives from :class:`~fedvideo.strategies.base.FedVideoStrategy`
(Flower's FedAvg with reply validation, failure injection and per-round
reports) and changes only what its method changes:

* :mod:`~fedvideo.strategies.fedprox`: ``fedprox``, FedAvg plus the clients'
  proximal term.
* :mod:`~fedvideo.strategies.fedvsr`: ``fedvsr``, loss-aware weights gated by
  the Hellinger distance (:func:`fedvsr_weights`).
* :mod:`~fedvideo.strategies.fedvssl`: ``loss-aware`` and ``swa-mixed``,
  FedVSSL's softmax(-loss) weights (:func:`fedvssl_weights`) and SWA mixing.

The registry that maps the run config's ``strategy`` to a class is
:mod:`fedvideo.strategy`.
"""

from fedvideo.strategies.base import (
    ClientUpdate,
    FedVideoStrategy,
    ReliabilityConfig,
    RoundReport,
)
from fedvideo.strategies.fedprox import FedProx, FedProxConfig, ProximalTerm
from fedvideo.strategies.fedvsr import FedVSR, fedvsr_weights, hellinger_distance
from fedvideo.strategies.fedvssl import (
    FedVSSLConfig,
    LossAware,
    SWAMixed,
    fedvssl_weights,
    swa_mix,
)
from fedvideo.strategies.validation import ReplyLimits

__all__ = [
    "ClientUpdate",
    "FedProx",
    "FedProxConfig",
    "FedVSR",
    "FedVSSLConfig",
    "FedVideoStrategy",
    "LossAware",
    "ProximalTerm",
    "ReliabilityConfig",
    "ReplyLimits",
    "RoundReport",
    "SWAMixed",
    "fedvsr_weights",
    "fedvssl_weights",
    "hellinger_distance",
    "swa_mix",
]
