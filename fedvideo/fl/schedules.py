"""Learning-rate schedules as pure functions of global progress.

Clients are stateless: the server sends the round number, and every schedule here
is computed from (round, local step) alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "cosine_lr",
    "global_progress",
    "linear_scaled_lr",
    "step_lr",
    "warmup_factor",
]


def global_progress(server_round: int, num_rounds: int, step: int, steps: int) -> float:
    """Fraction of the whole federated training done before local ``step``.

    Parameters
    ----------
    server_round : int
        Current round, 1-based.
    num_rounds : int
        Total number of rounds.
    step : int
        Local step within the round, 0-based.
    steps : int
        Local steps in this round.

    Returns
    -------
    float
        ``((server_round - 1) + step / steps) / num_rounds``, in ``[0, 1)``.
    """
    if not 1 <= server_round <= num_rounds:
        raise ValueError(f"server_round {server_round} not in [1, {num_rounds}]")
    if steps < 1 or not 0 <= step < steps:
        raise ValueError(f"step {step} not in [0, {steps})")
    return ((server_round - 1) + step / steps) / num_rounds


def cosine_lr(progress: float, base_lr: float, min_lr: float = 0.0) -> float:
    """Cosine annealing from ``base_lr`` (progress 0) to ``min_lr`` (progress 1)."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress {progress} not in [0, 1]")
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def step_lr(
    progress: float, base_lr: float, milestones: Sequence[float], gamma: float = 0.1
) -> float:
    """Step decay: ``base_lr * gamma ** k`` after the k-th of ``milestones``.

    ``milestones`` are fractions of the whole training in ``(0, 1]``; ViTPose's
    210-epoch schedule decays at epochs 170 and 200, i.e. ``(170/210, 200/210)``.
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress {progress} not in [0, 1]")
    passed = sum(progress >= milestone for milestone in milestones)
    return base_lr * gamma**passed


def linear_scaled_lr(
    base_lr: float, batch_size: int, reference_batch_size: int
) -> float:
    """Linear scaling rule: ``base_lr * batch_size / reference_batch_size``.

    ``base_lr`` is the learning rate tuned for ``reference_batch_size``
    (Goyal et al., 2017); the multigrid paper scales 2e-4 at batch 16 to 8e-4
    at batch 64. A reference of 0 means no scaling.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if reference_batch_size < 0:
        raise ValueError(
            f"reference_batch_size must be >= 0, got {reference_batch_size}"
        )
    if reference_batch_size == 0:
        return base_lr
    return base_lr * batch_size / reference_batch_size


def warmup_factor(t: int, warmup_iters: int) -> float:
    """Linear warmup multiplier ``min(1, (t + 1) / warmup_iters)``.

    Iteration ``t`` (0-based) of a warmup over ``warmup_iters`` iterations runs
    at ``(t + 1) / warmup_iters`` of the scheduled learning rate, so the first
    step is small but not zero and iteration ``warmup_iters - 1`` reaches the
    full rate. ``warmup_iters = 0`` means no warmup.
    """
    if t < 0:
        raise ValueError(f"iteration {t} must be >= 0")
    if warmup_iters < 0:
        raise ValueError(f"warmup_iters must be >= 0, got {warmup_iters}")
    if warmup_iters == 0:
        return 1.0
    return min(1.0, (t + 1) / warmup_iters)
