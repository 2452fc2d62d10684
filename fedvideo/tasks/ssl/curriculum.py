"""A curriculum of difficulty for Catch-the-Patch: easy patches first.

With few clips and small crops (CPU scale) the official CtP augmentation is
too hard to start on: the network settles on the "no motion" guess and never
leaves it (docs/fedvssl.md). Tracking is learned within minutes on easy clips
(a solid patch moving at constant velocity on a flat background), so a
curriculum starts there and moves to the target settings as training goes on.

The difficulty is a pure function of the training progress, so federated
clients stay stateless: a client computes it from the round number it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedvideo.tasks.ssl.data.ctp_augment import (
    TRAJECTORIES,
    CtPAugmentSettings,
    interpolate_settings,
)

__all__ = [
    "EASY_CTP",
    "CtPCurriculum",
    "curriculum_difficulty",
    "round_progress",
]

_EASY_KEY_FRAMES, _EASY_INTERPOLATION = TRAJECTORIES["constant-velocity"]

#: The easy end of the curriculum: solid, opaque, hard-edged patches pasted on
#: every frame of a flat grey background (zero input), moving at
#: constant velocity at twice the official speed and keeping their size. The
#: anchors (patch scales and ratios) and the number of patches are the
#: target's.
EASY_CTP = CtPAugmentSettings(
    max_speed=6.0,
    max_log_size_change=0.0,
    key_frame_probs=_EASY_KEY_FRAMES,
    interpolation_probs=_EASY_INTERPOLATION,
    paste_prob=1.0,
    opacity_range=(1.0, 1.0),
    soft_edge_prob=0.0,
    solid_prob=1.0,
    background_contrast=0.0,
)


def curriculum_difficulty(progress: float, length: float) -> float:
    """Difficulty in [0, 1] at a point of training.

    The difficulty rises linearly from 0 at the start of training to 1 once
    the share `length` of training is done, and stays at 1 after that.

    Parameters
    ----------
    progress : float
        Share of training done, in [0, 1] (e.g. completed rounds / rounds).
    length : float
        Share of training the curriculum takes, in [0, 1]; 0 = no curriculum
        (difficulty 1 from the start).

    Returns
    -------
    float
        ``min(1, progress / length)``, or 1 when `length` is 0.

    Raises
    ------
    ValueError
        If `progress` or `length` is outside [0, 1].

    Examples
    --------
    >>> curriculum_difficulty(0.25, 0.5)
    0.5
    >>> curriculum_difficulty(0.75, 0.5), curriculum_difficulty(0.0, 0.0)
    (1.0, 1.0)
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    if not 0.0 <= length <= 1.0:
        raise ValueError(f"curriculum length must be in [0, 1], got {length}")
    if length == 0.0:
        return 1.0
    return min(1.0, progress / length)


def round_progress(server_round: int, num_rounds: int) -> float:
    """Share of training done when round `server_round` (1-based) starts.

    Examples
    --------
    >>> round_progress(1, 4), round_progress(3, 4)
    (0.0, 0.5)
    """
    if num_rounds < 1 or not 1 <= server_round <= num_rounds:
        raise ValueError(
            f"round {server_round} is outside a run of {num_rounds} rounds"
        )
    return (server_round - 1) / num_rounds


@dataclass(frozen=True)
class CtPCurriculum:
    """CtP augmentation settings as a function of the training progress.

    Parameters
    ----------
    target : CtPAugmentSettings
        The settings at the end of the curriculum (the official ones at paper
        scale).
    length : float
        Share of training over which the settings move from `easy` to
        `target` (:func:`curriculum_difficulty`); 0 = `target` throughout.
    easy : CtPAugmentSettings
        The start, by default :data:`EASY_CTP`.
    """

    target: CtPAugmentSettings
    length: float = 0.0
    easy: CtPAugmentSettings = EASY_CTP

    def __post_init__(self) -> None:
        curriculum_difficulty(0.0, self.length)  # validates the length

    def settings_at(self, progress: float) -> CtPAugmentSettings:
        """Augmentation settings at `progress` (share of training done)."""
        difficulty = curriculum_difficulty(progress, self.length)
        return interpolate_settings(self.easy, self.target, difficulty)
