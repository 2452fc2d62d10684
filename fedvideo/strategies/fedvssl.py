"""FedVSSL's server aggregation: loss-aware weights and SWA-style mixing.

Rehman et al., "Federated Self-supervised Learning for Video Understanding",
ECCV Workshops 2022. For the K clients that replied, with mean local losses L_k
and dataset sizes n_k:

    f_k = n_k / sum_j n_j                 (FedAvg)
    l_k = exp(-L_k) / sum_j exp(-L_j)     (softmax of the negative loss)
    w_k = alpha * l_k + (1 - alpha) * f_k
    theta_agg = sum_k w_k theta_k

``swa-mixed`` (the paper's beta = 1) then averages with the previous global model
from round 2 on: ``theta_r = decay * theta_agg + (1 - decay) * theta_{r-1}`` with
decay 0.5. The published Flower baseline concatenated the two weight lists
instead of adding them; the formula above is the paper's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, Message, MetricRecord

from fedvideo.config import ConfigError, in_unit_interval, parse_section
from fedvideo.strategies.base import ClientUpdate, FedVideoStrategy, averaged_array

__all__ = ["FedVSSLConfig", "LossAware", "SWAMixed", "fedvssl_weights", "swa_mix"]


@dataclasses.dataclass(frozen=True)
class FedVSSLConfig:
    """Settings of the FedVSSL strategies (``[tool.flwr.app.config.fedvssl]``)."""

    alpha: float = dataclasses.field(metadata=in_unit_interval())
    swa_decay: float = dataclasses.field(metadata=in_unit_interval())

    def __post_init__(self) -> None:
        """Reject a decay of 0, which would freeze the global model."""
        if self.swa_decay == 0.0:
            raise ConfigError("run config 'fedvssl.swa-decay' must be > 0")


def fedvssl_weights(
    losses: Sequence[float], num_examples: Sequence[float], alpha: float
) -> np.ndarray:
    """FedVSSL client weights ``alpha * softmax(-L) + (1 - alpha) * n / sum(n)``.

    The softmax is taken after subtracting the smallest loss, so the weights are
    finite for any finite losses, however large.

    Parameters
    ----------
    losses : Sequence[float]
        Each client's mean local pretext loss (finite).
    num_examples : Sequence[float]
        Each client's number of training examples (> 0).
    alpha : float
        Share of the loss-based weights, in ``[0, 1]`` (0 = FedAvg).

    Returns
    -------
    np.ndarray
        Weights (float64), non-negative and summing to 1.

    Raises
    ------
    ValueError
        If the sequences are empty or of different lengths, a loss is not finite,
        a size is not positive, or ``alpha`` is outside ``[0, 1]``.

    Examples
    --------
    >>> fedvssl_weights([1.0, 1.0], [10, 30], alpha=0.0).tolist()
    [0.25, 0.75]
    >>> fedvssl_weights([1.0, 1.0], [10, 30], alpha=1.0).tolist()
    [0.5, 0.5]
    """
    loss = np.asarray(losses, dtype=np.float64)
    sizes = np.asarray(num_examples, dtype=np.float64)
    if loss.ndim != 1 or loss.size == 0 or loss.shape != sizes.shape:
        raise ValueError(
            "losses and num_examples must be non-empty sequences of equal length"
        )
    if not np.isfinite(loss).all():
        raise ValueError(f"losses must be finite, got {loss.tolist()}")
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise ValueError(f"num_examples must be positive, got {sizes.tolist()}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    scores = np.exp(-(loss - loss.min()))
    loss_weights = scores / scores.sum()
    size_weights = sizes / sizes.sum()
    return alpha * loss_weights + (1.0 - alpha) * size_weights


def swa_mix(
    aggregated: ArrayRecord, previous: ArrayRecord, decay: float
) -> ArrayRecord:
    """``decay * aggregated + (1 - decay) * previous``, array by array.

    Integer arrays (e.g. batch-norm step counters) are rounded back to their
    dtype; the keys of both records must match.

    Raises
    ------
    ValueError
        If the records hold different keys or shapes.
    """
    if set(aggregated) != set(previous):
        raise ValueError("cannot mix models with different parameter names")
    mixed = {}
    for key in aggregated:
        new, old = aggregated[key].numpy(), previous[key].numpy()
        if new.shape != old.shape:
            raise ValueError(f"{key}: shape {new.shape} != previous {old.shape}")
        value = decay * new.astype(np.float64) + (1.0 - decay) * old
        mixed[key] = averaged_array(value, new.dtype)
    return ArrayRecord(mixed)


class LossAware(FedVideoStrategy):
    """FedAvg with FedVSSL's loss-aware client weights (the paper's beta = 0).

    Parameters
    ----------
    alpha : float
        Share of the softmax(-loss) weights; ``1 - alpha`` goes to FedAvg's
        example shares.
    **kwargs
        Passed on to :class:`FedVideoStrategy`.
    """

    def __init__(self, *, alpha: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha = alpha

    @classmethod
    def method_options(cls, run_config: Mapping[str, Any]) -> dict[str, Any]:
        """Read ``alpha`` from ``fedvssl.alpha``."""
        return {"alpha": parse_section(run_config, FedVSSLConfig, "fedvssl").alpha}

    def aggregation_weights(
        self, server_round: int, updates: Sequence[ClientUpdate]
    ) -> tuple[list[float], dict[str, float]]:
        """FedVSSL weights from the clients' losses and sizes."""
        weights = fedvssl_weights(
            [u.train_loss for u in updates],
            [u.num_examples for u in updates],
            self.alpha,
        )
        return weights.tolist(), {"alpha": self.alpha}


class SWAMixed(LossAware):
    """Loss-aware weights, then an average with the previous global model.

    From the second aggregation on, the new global model is
    ``decay * theta_agg + (1 - decay) * theta_prev`` (the paper's beta = 1,
    decay 0.5). The previous global model is strategy state and goes into the
    round checkpoint through :meth:`state_dict`.

    Parameters
    ----------
    decay : float
        Weight of the freshly aggregated model, in ``(0, 1]``.
    **kwargs
        Passed on to :class:`LossAware`.
    """

    def __init__(self, *, decay: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.decay = decay
        self.previous_global: ArrayRecord | None = None

    @classmethod
    def method_options(cls, run_config: Mapping[str, Any]) -> dict[str, Any]:
        """Read ``alpha`` and ``decay`` from ``fedvssl.alpha`` and ``.swa-decay``."""
        section = parse_section(run_config, FedVSSLConfig, "fedvssl")
        return {"alpha": section.alpha, "decay": section.swa_decay}

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Aggregate as :class:`LossAware`, then mix with the previous global."""
        arrays, metrics = super().aggregate_train(server_round, replies)
        if arrays is None:
            return arrays, metrics
        mixed = self.previous_global is not None
        if mixed:
            arrays = swa_mix(arrays, self.previous_global, self.decay)
        self.reports[server_round].diagnostics["swa_mixed"] = float(mixed)
        self.previous_global = arrays
        return arrays, metrics

    def state_dict(self) -> dict[str, Any]:
        """Return the previous global model (torch tensors); empty before round 1."""
        if self.previous_global is None:
            return {}
        return {"previous_global": self.previous_global.to_torch_state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the previous global model saved by :meth:`state_dict`."""
        previous = state.get("previous_global")
        self.previous_global = None if previous is None else ArrayRecord(previous)
