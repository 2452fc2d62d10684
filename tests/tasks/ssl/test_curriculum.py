"""Tests for the CtP curriculum (fedvideo.tasks.ssl.curriculum)."""

from __future__ import annotations

import pytest

from fedvideo.tasks.ssl.curriculum import (
    EASY_CTP,
    CtPCurriculum,
    curriculum_difficulty,
    round_progress,
)
from fedvideo.tasks.ssl.data.ctp_augment import CtPAugmentSettings


@pytest.mark.parametrize(
    ("progress", "length", "expected"),
    [
        (0.0, 0.5, 0.0),
        (0.25, 0.5, 0.5),
        (0.5, 0.5, 1.0),
        (0.9, 0.5, 1.0),
        (0.3, 1.0, 0.3),
        (0.0, 0.0, 1.0),
        (0.7, 0.0, 1.0),
    ],
)
def test_difficulty_hand_cases(progress, length, expected) -> None:
    assert curriculum_difficulty(progress, length) == pytest.approx(expected)


@pytest.mark.parametrize(("progress", "length"), [(-0.1, 0.5), (1.1, 0.5), (0.5, 2)])
def test_difficulty_rejects_values_outside_0_1(progress, length) -> None:
    with pytest.raises(ValueError, match="progress|length"):
        curriculum_difficulty(progress, length)


def test_round_progress_counts_completed_rounds() -> None:
    assert [round_progress(r, 4) for r in (1, 2, 3, 4)] == [0.0, 0.25, 0.5, 0.75]
    for bad in ((0, 4), (5, 4), (1, 0)):
        with pytest.raises(ValueError, match="outside a run"):
            round_progress(*bad)


def test_curriculum_moves_from_easy_to_target() -> None:
    target = CtPAugmentSettings(num_patches=2)
    curriculum = CtPCurriculum(target=target, length=0.5)
    start = curriculum.settings_at(0.0)
    assert start.solid_prob == 1.0 and start.max_speed == EASY_CTP.max_speed
    assert start.key_frame_probs[0] == pytest.approx(1.0)  # constant velocity
    assert start.background_contrast == 0.0  # flat background
    assert start.num_patches == 2  # the target's patch count
    middle = curriculum.settings_at(0.25)
    assert middle.solid_prob == pytest.approx(0.5)
    assert middle.max_speed == pytest.approx(4.5)
    assert middle.background_contrast == pytest.approx(0.5)
    assert curriculum.settings_at(0.5) == target
    assert curriculum.settings_at(1.0) == target
    speeds = [curriculum.settings_at(p / 10).max_speed for p in range(11)]
    assert speeds == sorted(speeds, reverse=True)  # never easier later


def test_no_curriculum_is_the_target_throughout() -> None:
    target = CtPAugmentSettings()
    curriculum = CtPCurriculum(target=target)
    assert all(curriculum.settings_at(p / 4) == target for p in range(5))
    with pytest.raises(ValueError, match="length"):
        CtPCurriculum(target=target, length=1.5)
