"""Learning-rate and training-shape schedules as pure functions of global progress.

Clients are stateless: the server sends the round number, and every schedule here
is computed from (round, local step) alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "MultigridPoint",
    "MultigridStage",
    "cosine_lr",
    "global_progress",
    "linear_scaled_lr",
    "multigrid",
    "multigrid_sizes",
    "multigrid_stages",
    "stage_at",
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


def multigrid_sizes(full: int, stages: int, minimum: int) -> list[int]:
    """Sizes of one multigrid cycle, growing from about ``full / 2`` to ``full``.

    Stage ``k`` of ``n`` has size ``floor(full * (1 + k / (n - 1)) / 2)``,
    raised to ``minimum`` and capped at ``full``: two spatial stages give
    ``max(32, H/2), H`` and three temporal stages ``max(6, T/2), 3T/4, T``
    (REDS: 7, 11, 15 frames), as in Lin et al. (AAAI 2023). Sizes that the
    floor or the cap make equal merge into one stage, so a cycle may have fewer
    than ``stages`` entries; one stage is ``[full]``.

    Parameters
    ----------
    full : int
        The baseline's size (LR crop side or clip length), used by the last stage.
    stages : int
        Number of stages in the cycle (>= 1).
    minimum : int
        Floor of every size (the paper: 32 LR pixels, 6 frames).
    """
    if full < 1:
        raise ValueError(f"full size must be >= 1, got {full}")
    if stages < 1:
        raise ValueError(f"a cycle needs >= 1 stage, got {stages}")
    if stages == 1:
        return [full]
    sizes = [
        min(full, max(minimum, (full * (stages - 1 + k)) // (2 * (stages - 1))))
        for k in range(stages)
    ]
    return sorted(set(sizes))


class MultigridStage(NamedTuple):
    """One spatial-temporal stage of a multigrid schedule."""

    index: int
    start: int  # first global iteration of the stage
    length: int  # iterations in the stage
    crop: int
    frames: int


class MultigridPoint(NamedTuple):
    """What one training iteration uses under a multigrid schedule."""

    crop: int
    frames: int
    lr: float


def multigrid_stages(
    total_iters: int,
    full_crop: int,
    full_frames: int,
    spatial_stages: int = 2,
    temporal_stages: int = 3,
    min_crop: int = 32,
    min_frames: int = 6,
    round_iters: int = 1,
) -> list[MultigridStage]:
    """List the stages of a multigrid schedule, in training order.

    The spatial cycle is the outer one: every spatial stage (crop size) runs the
    whole temporal cycle (clip lengths), so ``spatial_stages * temporal_stages``
    stages of equal length end with the baseline's ``(full_crop, full_frames)``.
    Sliding-window models, whose clip length the architecture fixes, use
    ``temporal_stages = 1`` (the spatial cycle only).

    Parameters
    ----------
    total_iters : int
        Iterations of the whole training.
    full_crop, full_frames : int
        The baseline's crop side and clip length (the last stage's).
    spatial_stages, temporal_stages : int
        Stages per cycle (the paper: 2 and 3).
    min_crop, min_frames : int
        Floors of the smaller sizes (the paper: 32 LR pixels, 6 frames).
    round_iters : int
        Stage boundaries fall on multiples of this many iterations: federated
        training passes the local steps of a round, so that every client of a
        round trains the same shape. ``total_iters`` must be a multiple of it.

    Returns
    -------
    list[MultigridStage]
        Stage ``j`` of ``p`` covers rounds ``floor(j * R / p)`` up to
        ``floor((j + 1) * R / p)`` with ``R = total_iters / round_iters``.

    Raises
    ------
    ValueError
        If there are fewer rounds (iterations) than stages, or a size is invalid.
    """
    if round_iters < 1 or total_iters % round_iters:
        raise ValueError(
            f"total_iters {total_iters} must be a positive multiple of "
            f"round_iters {round_iters}"
        )
    crops = multigrid_sizes(full_crop, spatial_stages, min_crop)
    clip_lengths = multigrid_sizes(full_frames, temporal_stages, min_frames)
    shapes = [(crop, frames) for crop in crops for frames in clip_lengths]
    rounds = total_iters // round_iters
    if rounds < len(shapes):
        unit = "iterations" if round_iters == 1 else "rounds"
        raise ValueError(
            f"a multigrid schedule of {len(shapes)} stages needs at least "
            f"{len(shapes)} {unit}, got {rounds}"
        )
    bounds = [j * rounds // len(shapes) * round_iters for j in range(len(shapes) + 1)]
    return [
        MultigridStage(j, bounds[j], bounds[j + 1] - bounds[j], crop, frames)
        for j, (crop, frames) in enumerate(shapes)
    ]


def stage_at(stages: Sequence[MultigridStage], t: int) -> MultigridStage:
    """Return the stage of ``stages`` (in order, the first at 0) containing ``t``."""
    return next(stage for stage in reversed(stages) if stage.start <= t)


def multigrid(
    t: int,
    total_iters: int,
    full_crop: int,
    full_frames: int,
    base_lr: float,
    eta_min: float = 1e-7,
    warmup_iters: int = 0,
    *,
    spatial_stages: int = 2,
    temporal_stages: int = 3,
    min_crop: int = 32,
    min_frames: int = 6,
    round_iters: int = 1,
) -> MultigridPoint:
    """Crop size, clip length and learning rate of global iteration ``t``.

    Every stage restarts the learning rate at ``base_lr`` and anneals it by
    cosine: with ``tau = t - S_j`` iterations into stage ``j``,
    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * tau / D_j)) / 2``
    where ``D_j = total_iters`` for every stage but the last (the rate stays
    high until the end) and ``D_j`` = the last stage's length for the last one
    (it anneals to ``eta_min``). A linear warmup (:func:`warmup_factor`)
    multiplies the rate over the first ``warmup_iters`` iterations.

    Parameters
    ----------
    t : int
        Global iteration, 0-based; federated training uses
        ``(server_round - 1) * steps + step``.
    total_iters : int
        Iterations of the whole training.
    full_crop, full_frames : int
        The baseline's crop side and clip length.
    base_lr : float
        Learning rate at every stage start (after batch scaling).
    eta_min : float
        Floor of the cosine annealing.
    warmup_iters : int
        Iterations of linear warmup at the start of training (0 = none).
    spatial_stages, temporal_stages, min_crop, min_frames, round_iters
        See :func:`multigrid_stages`.

    Returns
    -------
    MultigridPoint
        ``(crop, frames, lr)``.
    """
    if not 0 <= t < total_iters:
        raise ValueError(f"iteration {t} not in [0, {total_iters})")
    stages = multigrid_stages(
        total_iters,
        full_crop,
        full_frames,
        spatial_stages,
        temporal_stages,
        min_crop,
        min_frames,
        round_iters,
    )
    stage = stage_at(stages, t)
    last = stage.index == len(stages) - 1
    period = stage.length if last else total_iters
    lr = eta_min + 0.5 * (base_lr - eta_min) * (
        1.0 + math.cos(math.pi * (t - stage.start) / period)
    )
    return MultigridPoint(stage.crop, stage.frames, lr * warmup_factor(t, warmup_iters))
