"""VCOP tuples and Speed clips (fedvideo.tasks.ssl.data.pretext_clips)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.ssl.data.action_video import InMemoryActionVideo
from fedvideo.tasks.ssl.data.clips import IMAGENET_MEAN, IMAGENET_STD
from fedvideo.tasks.ssl.data.pretext_clips import (
    SPEED_STRIDES,
    VCOP_PERMUTATIONS,
    SpeedTrainClips,
    VCOPTrainClips,
    clip_order_permutations,
    speed_clip_indices,
    speed_frames_needed,
    vcop_tuple_starts,
)
from fedvideo.tasks.ssl.data.synthetic import synthetic_action_splits

CROP = 32


class FixedRng:
    """Stands in for a numpy Generator: ``integers`` returns ``low + value``."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.calls: list[tuple[int, int]] = []

    def integers(self, low: int, high: int) -> int:
        self.calls.append((low, high))
        assert low + self.value < high, "offset out of the allowed range"
        return low + self.value


def counter_video(num_frames: int, size: int = 36) -> InMemoryActionVideo:
    """Flat frames whose grey level encodes the frame index: 10 + 3 t."""
    levels = (10 + 3 * np.arange(num_frames)).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (num_frames, size, size, 3))
    return InMemoryActionVideo("c/counter", 0, np.ascontiguousarray(frames))


def decode_frames(clip: torch.Tensor) -> list[int]:
    """Frame indices of a normalised counter-video clip ``(3, T, S, S)``."""
    grey = clip[0].mean(dim=(1, 2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0]
    levels = grey * 255
    indices = torch.round((levels - 10) / 3)
    assert torch.allclose(levels, 10 + 3 * indices, atol=0.05), "not a flat level"
    return [int(i) for i in indices]


# --- vcop_tuple_starts -------------------------------------------------------


def test_permutations_are_itertools_order() -> None:
    assert VCOP_PERMUTATIONS == tuple(itertools.permutations(range(3)))
    assert len(VCOP_PERMUTATIONS) == 6
    assert VCOP_PERMUTATIONS[0] == (0, 1, 2) and VCOP_PERMUTATIONS[5] == (2, 1, 0)
    assert len(clip_order_permutations(4)) == 24


@pytest.mark.parametrize("offset", [0, 3, 5])
def test_vcop_starts_at_fixed_offset(offset: int) -> None:
    rng = FixedRng(offset)
    # span 3 * 16 + 2 * 8 = 64; in 69 frames the offset is drawn from [0, 6)
    assert vcop_tuple_starts(69, 16, 8, rng) == [offset, offset + 24, offset + 48]
    assert rng.calls == [(0, 6)]


def test_vcop_starts_exact_fit() -> None:
    assert vcop_tuple_starts(64, 16, 8, np.random.default_rng(0)) == [0, 24, 48]


def test_vcop_random_offsets_cover_the_free_frames() -> None:
    offsets = set()
    for seed in range(200):
        starts = vcop_tuple_starts(69, 16, 8, np.random.default_rng(seed))
        assert np.diff(starts).tolist() == [24, 24]
        assert starts[-1] + 16 <= 69
        offsets.add(starts[0])
    assert offsets == set(range(6))


@pytest.mark.parametrize(
    ("video_frames", "expected"),
    [
        (24, [0, 4, 8]),  # (24 - 16) // 2 = 4: the last clip ends at frame 24
        (25, [0, 4, 8]),
        (26, [0, 5, 10]),
        (18, [0, 1, 2]),  # the shortest video that fits
        (63, [0, 23, 46]),  # one frame short of the 64-frame span
    ],
)
def test_vcop_starts_squeezed(video_frames: int, expected: list[int]) -> None:
    assert vcop_tuple_starts(video_frames, 16, 8, np.random.default_rng(0)) == expected


@pytest.mark.parametrize("video_frames", range(18, 90))
def test_vcop_starts_valid_for_every_length(video_frames: int) -> None:
    starts = vcop_tuple_starts(video_frames, 16, 8, np.random.default_rng(video_frames))
    assert len(starts) == 3 and starts[0] >= 0
    assert all(b > a for a, b in itertools.pairwise(starts))
    assert starts[-1] + 16 <= video_frames


@pytest.mark.parametrize(("video_frames", "clip_frames"), [(17, 16), (5, 16), (9, 8)])
def test_vcop_starts_too_short_names_frames_needed(
    video_frames: int, clip_frames: int
) -> None:
    needed = clip_frames + 2
    with pytest.raises(ValueError, match=f"at least {needed} frames"):
        vcop_tuple_starts(video_frames, clip_frames, 8, np.random.default_rng(0))


# --- speed_clip_indices ------------------------------------------------------


@pytest.mark.parametrize(
    ("stride", "expected"),
    [
        (2, [3, 5, 7, 9]),
        (-2, [9, 7, 5, 3]),  # the same frames, backwards
        (1, [3, 4, 5, 6]),
        (-4, [15, 11, 7, 3]),
        (0, [3, 3, 3, 3]),
    ],
)
def test_speed_indices_fixed_start(stride: int, expected: list[int]) -> None:
    rng = FixedRng(3)
    assert speed_clip_indices(20, 4, stride, rng) == expected
    span = abs(stride) * 3 + 1
    assert rng.calls == [(0, 20 - span + 1)]


@pytest.mark.parametrize("stride", SPEED_STRIDES)
def test_speed_indices_step_and_range(stride: int) -> None:
    firsts = set()
    for seed in range(100):
        indices = speed_clip_indices(32, 8, stride, np.random.default_rng(seed))
        assert len(indices) == 8
        assert np.diff(indices).tolist() == [stride] * 7
        assert min(indices) >= 0 and max(indices) < 32
        firsts.add(indices[0])
    assert len(firsts) > 1  # a random start


def test_speed_indices_extremes() -> None:
    assert speed_clip_indices(29, 8, 4, np.random.default_rng(0)) == list(
        range(0, 29, 4)
    )
    assert speed_clip_indices(29, 8, -4, np.random.default_rng(0)) == list(
        range(28, -1, -4)
    )


def test_speed_stride_zero_repeats_any_frame() -> None:
    frames = set()
    for seed in range(200):
        indices = speed_clip_indices(10, 8, 0, np.random.default_rng(seed))
        assert len(set(indices)) == 1
        frames.add(indices[0])
    assert frames == set(range(10))


def test_speed_indices_too_short_names_frames_needed() -> None:
    with pytest.raises(ValueError, match="needs 29 frames"):
        speed_clip_indices(28, 8, -4, np.random.default_rng(0))
    assert speed_frames_needed(8) == 29 and speed_frames_needed(16) == 61


# --- VCOPTrainClips ----------------------------------------------------------


def test_vcop_item_shapes_and_types() -> None:
    data = VCOPTrainClips([counter_video(40)], clip_frames=8, crop_size=CROP, seed=0)
    item = data[0]
    assert item["clips"].shape == (3, 3, 8, CROP, CROP)
    assert item["clips"].dtype == torch.float32
    assert item["label"].dtype == torch.int64 and item["label"].shape == ()
    assert 0 <= int(item["label"]) < 6


def test_vcop_label_decodes_the_shuffled_order() -> None:
    # 40 frames = 3 * 8 + 2 * 8: the tuple starts at frames 0, 16, 32
    data = VCOPTrainClips([counter_video(40)], clip_frames=8, crop_size=CROP, seed=1)
    labels = set()
    for epoch in range(40):
        data.set_epoch(epoch)
        item = data[0]
        label = int(item["label"])
        labels.add(label)
        shuffled = [decode_frames(clip) for clip in item["clips"]]
        for indices in shuffled:
            assert np.diff(indices).tolist() == [1] * 7  # consecutive frames
        order = VCOP_PERMUTATIONS[label]
        ordered = [None] * 3
        for position, rank in enumerate(order):
            ordered[rank] = shuffled[position]
        assert [clip[0] for clip in ordered] == [0, 16, 32]
    assert labels == set(range(6))


def test_vcop_clips_share_crop_and_flip() -> None:
    # identical noise frames: the clips of a tuple are equal iff their crops are
    rng = np.random.default_rng(0)
    still = rng.integers(0, 256, (1, 36, 36, 3), dtype=np.uint8)
    video = InMemoryActionVideo("c/still", 0, np.repeat(still, 40, axis=0))
    data = VCOPTrainClips([video], clip_frames=8, crop_size=CROP, seed=0)
    firsts = []
    for epoch in range(8):
        data.set_epoch(epoch)
        clips = data[0]["clips"]
        torch.testing.assert_close(clips[1], clips[0], rtol=0, atol=0)
        torch.testing.assert_close(clips[2], clips[0], rtol=0, atol=0)
        firsts.append(clips[0])
    assert any(not torch.equal(firsts[0], other) for other in firsts[1:])


def test_vcop_items_reproducible_per_seed_epoch_index() -> None:
    videos, _ = synthetic_action_splits(
        seed=0, num_classes=2, train_per_class=1, test_per_class=0, frames=24, size=36
    )
    data = VCOPTrainClips(videos, clip_frames=8, crop_size=CROP, seed=3)
    again = VCOPTrainClips(videos, clip_frames=8, crop_size=CROP, seed=3)
    first = data[1]
    torch.testing.assert_close(first["clips"], again[1]["clips"], rtol=0, atol=0)
    assert int(first["label"]) == int(again[1]["label"])
    changed = False
    for epoch in range(1, 6):
        data.set_epoch(epoch)
        changed |= not torch.equal(data[1]["clips"], first["clips"])
    assert changed


def test_vcop_too_short_video_names_it() -> None:
    data = VCOPTrainClips([counter_video(9)], clip_frames=8, crop_size=CROP, seed=0)
    with pytest.raises(DatasetError, match=r"'c/counter'.*at least 10 frames"):
        data[0]


# --- SpeedTrainClips ---------------------------------------------------------


def test_speed_item_shapes_and_stride_matches_label() -> None:
    data = SpeedTrainClips([counter_video(29)], num_frames=8, crop_size=CROP, seed=0)
    labels = set()
    for epoch in range(100):
        data.set_epoch(epoch)
        item = data[0]
        assert item["clip"].shape == (3, 8, CROP, CROP)
        assert item["clip"].dtype == torch.float32
        assert item["label"].dtype == torch.int64 and item["label"].shape == ()
        label = int(item["label"])
        labels.add(label)
        indices = decode_frames(item["clip"])
        assert np.diff(indices).tolist() == [SPEED_STRIDES[label]] * 7
    assert labels == set(range(7))


def test_speed_custom_strides() -> None:
    data = SpeedTrainClips(
        [counter_video(16)], num_frames=4, crop_size=CROP, seed=0, strides=(-1, 3)
    )
    for epoch in range(10):
        data.set_epoch(epoch)
        item = data[0]
        stride = (-1, 3)[int(item["label"])]
        assert np.diff(decode_frames(item["clip"])).tolist() == [stride] * 3
    with pytest.raises(ValueError, match="distinct"):
        SpeedTrainClips([counter_video(16)], 4, CROP, 0, strides=(1, 1))


def test_speed_too_short_video_names_it() -> None:
    data = SpeedTrainClips([counter_video(20)], num_frames=8, crop_size=CROP, seed=0)
    with pytest.raises(DatasetError, match=r"'c/counter'.*needs \d+ frames"):
        for epoch in range(30):  # some stride (4 or -4 needs 29) fails
            data.set_epoch(epoch)
            data[0]
