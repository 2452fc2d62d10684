"""The multigrid schedule of VSR training (Lin et al., AAAI 2023).

Growing crops and clip lengths in stages, each with a cosine learning-rate
restart, as pure functions of the global iteration: clients stay stateless.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from fedvideo.fl.schedules import warmup_factor

__all__ = [
    "MultigridPoint",
    "MultigridStage",
    "multigrid",
    "multigrid_sizes",
    "multigrid_stages",
    "stage_at",
]


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
