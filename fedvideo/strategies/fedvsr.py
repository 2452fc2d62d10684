"""FedVSR: loss-aware aggregation gated by the Hellinger distance to uniform weights.

Dehaghi et al., "FedVSR: Towards Model-Agnostic Federated Learning in Video
Super-Resolution", ACM MMSys 2026. For the K clients that replied in round r of T:

    u_i = 1/K,   p = 1 - r/T,   w_i = L_i^(-p) / sum_j L_j^(-p)
    H   = sqrt(1/2 * sum_i (sqrt(u_i) - sqrt(w_i))^2)
    m   = 0 if H < 0.05 else (H - 0.05) / 0.95
    a_i = (1 - m) u_i + m w_i

Dataset sizes are not used, and the server keeps no state but the global model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from fedvideo.strategies.base import ClientUpdate, FedVideoStrategy

__all__ = [
    "FedVSR",
    "FedVSRMixing",
    "fedvsr_mixing",
    "fedvsr_weights",
    "hellinger_distance",
    "inverse_loss_weights",
    "HELLINGER_THRESHOLD",
]

HELLINGER_THRESHOLD = 0.05


def _check_losses(losses: Sequence[float]) -> np.ndarray:
    values = np.asarray(losses, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("losses must be a non-empty sequence of numbers")
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"losses must be finite and positive, got {values.tolist()}")
    return values


def inverse_loss_weights(
    losses: Sequence[float], server_round: int, num_rounds: int
) -> np.ndarray:
    """``w_i ∝ (1/L_i)^p`` with ``p = 1 - r/T``, computed in log space.

    Raises
    ------
    ValueError
        If a loss is not finite and positive or the round is outside ``[1, T]``.
    """
    values = _check_losses(losses)
    if not 1 <= server_round <= num_rounds:
        raise ValueError(f"server_round {server_round} not in [1, {num_rounds}]")
    exponent = 1.0 - server_round / num_rounds
    logits = -exponent * np.log(values)
    logits -= logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


def hellinger_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Hellinger distance ``sqrt(1/2 * sum (sqrt p - sqrt q)^2)`` of ``p`` and ``q``."""
    diff = np.sqrt(np.asarray(p, np.float64)) - np.sqrt(np.asarray(q, np.float64))
    return float(np.sqrt(0.5 * np.sum(diff**2)))


class FedVSRMixing(NamedTuple):
    """FedVSR's client weights of one round and the quantities behind them."""

    weights: np.ndarray
    hellinger: float
    mix: float


def fedvsr_mixing(
    losses: Sequence[float], server_round: int, num_rounds: int
) -> FedVSRMixing:
    """Weights ``a_i`` with the Hellinger distance ``H`` and share ``m`` they used.

    See :func:`fedvsr_weights` for the parameters.
    """
    loss_weights = inverse_loss_weights(losses, server_round, num_rounds)
    uniform = np.full_like(loss_weights, 1.0 / loss_weights.size)
    distance = hellinger_distance(uniform, loss_weights)
    mix = fedvsr_mix(distance)
    return FedVSRMixing((1.0 - mix) * uniform + mix * loss_weights, distance, mix)


def fedvsr_weights(
    losses: Sequence[float], server_round: int, num_rounds: int
) -> np.ndarray:
    """FedVSR aggregation weights of the clients that replied in a round.

    Parameters
    ----------
    losses : Sequence[float]
        Each client's mean local training loss (finite, > 0).
    server_round : int
        The round, 1-based.
    num_rounds : int
        Total number of rounds ``T``.

    Returns
    -------
    np.ndarray
        Weights ``a_i`` (float64), non-negative and summing to 1.

    Examples
    --------
    Equal losses give uniform weights; in the last round (p = 0) weights are
    uniform whatever the losses:

    >>> fedvsr_weights([0.1, 0.1], 1, 10).tolist()
    [0.5, 0.5]
    >>> fedvsr_weights([0.1, 0.4], 10, 10).tolist()
    [0.5, 0.5]
    """
    return fedvsr_mixing(losses, server_round, num_rounds).weights


def fedvsr_mix(distance: float, threshold: float = HELLINGER_THRESHOLD) -> float:
    """Share ``m`` of the loss-based weights given the Hellinger distance."""
    return 0.0 if distance < threshold else (distance - threshold) / (1.0 - threshold)


class FedVSR(FedVideoStrategy):
    """FedAvg with FedVSR's loss-aware, Hellinger-gated client weights."""

    def aggregation_weights(
        self, server_round: int, updates: Sequence[ClientUpdate]
    ) -> tuple[list[float], dict[str, float]]:
        """FedVSR weights from the clients' mean local losses (sizes unused)."""
        losses = [u.train_loss for u in updates]
        mixing = fedvsr_mixing(losses, server_round, self.num_rounds)
        return mixing.weights.tolist(), {
            "hellinger": mixing.hellinger,
            "mix": mixing.mix,
        }
