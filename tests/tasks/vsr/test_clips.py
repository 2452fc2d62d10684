"""Tests for the VSR training and test datasets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.clips import VSRTestClips, VSRTrainClips, mirrored_indices
from fedvideo.tasks.vsr.data.frame_cache import CachedVideo, FrameCache, cache_videos
from fedvideo.tasks.vsr.data.video import InMemoryVideo

SCALE = 4


def random_video(name: str, frames: int = 6, lr_size=(10, 12), seed: int = 0):
    """LR noise; HR = nearest-neighbour upsampling of LR (so HR[::4, ::4] == LR)."""
    rng = np.random.default_rng(seed)
    lr = rng.integers(0, 256, (frames, *lr_size, 3), dtype=np.uint8)
    hr = lr.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    return InMemoryVideo(name, lr, hr)


def counting_video(name: str, frames: int, lr_size=(8, 8)):
    """Every pixel of frame k (LR and HR) has the value k."""
    values = np.arange(frames, dtype=np.uint8)[:, None, None, None]
    lr = np.broadcast_to(values, (frames, *lr_size, 3)).copy()
    hr = np.broadcast_to(values, (frames, lr_size[0] * 4, lr_size[1] * 4, 3)).copy()
    return InMemoryVideo(name, lr, hr)


class RecordingVideo:
    """Wraps a video and records which frame indices were loaded."""

    def __init__(self, video: InMemoryVideo) -> None:
        self.video = video
        self.loaded: list[list[int]] = []
        self.name, self.num_frames = video.name, video.num_frames
        self.lr_size, self.hr_size = video.lr_size, video.hr_size

    def load(self, indices: Sequence[int]):
        self.loaded.append(list(indices))
        return self.video.load(indices)


def make_dataset(videos, **overrides):
    settings = {
        "num_frames": 3,
        "gt_crop": 16,
        "scale": SCALE,
        "samples_per_video": 4,
        "seed": 5,
    }
    settings.update(overrides)
    return VSRTrainClips(videos, **settings)


def test_length_and_shapes():
    dataset = make_dataset([random_video("a"), random_video("b", seed=1)])
    assert len(dataset) == 8
    item = dataset[7]
    assert set(item) == {"lr", "hr"}
    assert item["lr"].shape == (3, 3, 4, 4) and item["hr"].shape == (3, 3, 16, 16)
    assert item["lr"].dtype == item["hr"].dtype == torch.float32
    assert 0.0 <= item["lr"].min() and item["hr"].max() <= 1.0
    with pytest.raises(IndexError):
        dataset[8]


def test_crop_and_augmentation_are_the_same_for_every_frame():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (1, 10, 12, 3), dtype=np.uint8)
    lr = np.repeat(frame, 5, axis=0)
    hr = lr.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    dataset = make_dataset([InMemoryVideo("still", lr, hr)], samples_per_video=32)
    crops = set()
    for index in range(len(dataset)):
        item = dataset[index]
        for key in ("lr", "hr"):
            assert torch.equal(item[key], item[key][:1].expand_as(item[key]))
        crops.add(item["lr"][0].numpy().tobytes())
    assert len(crops) > 8  # positions and augmentations do vary between samples


def test_hr_crop_is_aligned_with_lr_crop():
    dataset = make_dataset([random_video("a", seed=2)], samples_per_video=32)
    for index in range(len(dataset)):
        item = dataset[index]
        assert torch.equal(item["hr"][:, :, ::SCALE, ::SCALE], item["lr"])


def test_alignment_holds_without_augmentation_too():
    dataset = make_dataset([random_video("a", seed=4)], augment=False)
    for index in range(len(dataset)):
        item = dataset[index]
        assert torch.equal(item["hr"][:, :, ::SCALE, ::SCALE], item["lr"])


def test_samples_are_deterministic_by_seed_epoch_and_index():
    videos = [random_video("a"), random_video("b", seed=1)]
    first, second = make_dataset(videos), make_dataset(videos)
    for index in range(len(first)):
        assert torch.equal(first[index]["hr"], second[index]["hr"])
    epoch_zero = [first[i]["hr"] for i in range(len(first))]
    first.set_epoch(1)
    epoch_one = [first[i]["hr"] for i in range(len(first))]
    assert any(
        not torch.equal(a, b) for a, b in zip(epoch_zero, epoch_one, strict=True)
    )
    assert torch.equal(first[3]["hr"], make_dataset(videos, epoch=1)[3]["hr"])
    other_seed = make_dataset(videos, seed=6)
    assert any(
        not torch.equal(first[i]["hr"], other_seed[i]["hr"]) for i in range(len(first))
    )


def test_consecutive_frames_from_a_long_video():
    dataset = make_dataset([counting_video("long", 20)], num_frames=5, augment=False)
    starts = set()
    for index in range(len(dataset)):
        values = dataset[index]["hr"][:, 0, 0, 0].mul(255).round().int().tolist()
        assert values == list(range(values[0], values[0] + 5))
        starts.add(values[0])
    assert len(starts) > 1


def test_short_video_is_extended_with_its_mirror():
    assert mirrored_indices(3, 0, 8) == [0, 1, 2, 2, 1, 0, 0, 1]
    assert mirrored_indices(1, 0, 3) == [0, 0, 0]
    assert mirrored_indices(5, 1, 3) == [1, 2, 3]
    dataset = make_dataset([counting_video("short", 3)], num_frames=7)
    for index in range(len(dataset)):
        item = dataset[index]
        for key in ("lr", "hr"):
            values = item[key][:, 0, 0, 0].mul(255).round().int().tolist()
            assert values == [0, 1, 2, 2, 1, 0, 0]


def test_only_needed_frames_are_loaded():
    video = RecordingVideo(counting_video("tracked", 30))
    make_dataset([video], num_frames=4)[2]
    assert len(video.loaded) == 1 and len(video.loaded[0]) == 4
    short = RecordingVideo(counting_video("short", 3))
    make_dataset([short], num_frames=7)[0]
    assert short.loaded == [[0, 1, 2]]


def test_lr_smaller_than_crop_names_the_video_and_sizes():
    with pytest.raises(DatasetError, match=r"'tiny'.*3x12.*4x4"):
        make_dataset([random_video("tiny", lr_size=(3, 12))])


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"gt_crop": 18}, "vsr.gt-crop"),
        ({"num_frames": 0}, "vsr.num-frames"),
        ({"samples_per_video": 0}, "vsr.samples-per-video"),
        ({"scale": 2}, "vsr.scale"),
        ({"seed": -3}, "seed"),
    ],
)
def test_invalid_settings_are_named(overrides, setting):
    with pytest.raises(DatasetError, match=setting):
        make_dataset([random_video("a")], **overrides)


def test_no_videos_is_an_error():
    with pytest.raises(DatasetError, match="partition is empty"):
        make_dataset([])


def test_batches_collate():
    dataset = make_dataset([random_video("a"), random_video("b", seed=1)])
    batch = next(iter(DataLoader(dataset, batch_size=4, shuffle=True)))
    assert batch["lr"].shape == (4, 3, 3, 4, 4) and batch["hr"].shape == (
        4,
        3,
        3,
        16,
        16,
    )


def test_test_clips_are_whole_and_can_be_capped():
    videos = [counting_video("c0", 6), counting_video("c1", 2)]
    item = VSRTestClips(videos)[0]
    assert item["name"] == "c0"
    assert item["lr"].shape == (6, 3, 8, 8) and item["hr"].shape == (6, 3, 32, 32)
    capped = VSRTestClips(videos, max_frames=4)
    assert len(capped) == 2
    assert capped[0]["hr"].shape[0] == 4 and capped[1]["hr"].shape[0] == 2
    assert capped[0]["hr"][:, 0, 0, 0].mul(255).round().int().tolist() == [0, 1, 2, 3]
    with pytest.raises(DatasetError, match="max_frames"):
        VSRTestClips(videos, max_frames=0)


def test_set_shape_changes_item_shapes_and_mirrors_long_clips():
    dataset = make_dataset([counting_video("short", 5)], augment=False)
    assert dataset[0]["lr"].shape == (3, 3, 4, 4)
    for num_frames, gt_crop in [(7, 16), (11, 24), (15, 32)]:
        dataset.set_shape(num_frames, gt_crop)
        assert (dataset.num_frames, dataset.gt_crop) == (num_frames, gt_crop)
        assert dataset.lr_crop == gt_crop // SCALE
        assert len(dataset) == 4
        item = dataset[1]
        crop = gt_crop // SCALE
        assert item["lr"].shape == (num_frames, 3, crop, crop)
        assert item["hr"].shape == (num_frames, 3, gt_crop, gt_crop)
        values = item["hr"][:, 0, 0, 0].mul(255).round().int().tolist()
        assert values == mirrored_indices(5, 0, num_frames)
        assert torch.equal(item["hr"][:, :, ::SCALE, ::SCALE], item["lr"])


def test_set_shape_gives_the_items_of_a_fresh_dataset():
    videos = [random_video("a", lr_size=(12, 12)), random_video("b", seed=1)]
    dataset = make_dataset(videos, epoch=2)
    dataset.set_shape(9, 32)
    fresh = make_dataset(videos, epoch=2, num_frames=9, gt_crop=32)
    for index in range(len(dataset)):
        for key in ("lr", "hr"):
            assert torch.equal(dataset[index][key], fresh[index][key])


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((3, 18), "vsr.gt-crop=18 must be a multiple of vsr.scale=4"),
        ((3, 0), "vsr.gt-crop"),
        ((0, 16), "vsr.num-frames"),
        ((2.5, 16), "vsr.num-frames"),
        ((3, 44), r"'a'.*10x12.*11x11.*vsr.gt-crop=44"),
    ],
)
def test_set_shape_rejects_invalid_shapes_and_keeps_the_old_one(shape, match):
    dataset = make_dataset([random_video("a")])
    with pytest.raises(DatasetError, match=match):
        dataset.set_shape(*shape)
    assert (dataset.num_frames, dataset.gt_crop, dataset.lr_crop) == (3, 16, 4)
    assert dataset[0]["hr"].shape == (3, 3, 16, 16)


class CountingFakeVideo(RecordingVideo):
    """Not an InMemoryVideo, so cache_videos wraps it."""


def test_cached_videos_give_identical_items_and_are_not_read_again():
    def fakes():
        return [
            CountingFakeVideo(random_video("a", frames=9, lr_size=(12, 12))),
            CountingFakeVideo(random_video("b", frames=5, seed=1)),
        ]

    plain, wrapped = fakes(), fakes()
    cache = FrameCache(10**8)
    cached = cache_videos(wrapped, cache)
    assert all(isinstance(video, CachedVideo) for video in cached)
    # 15 frames > every clip's length: the first pass loads every frame.
    plain_set = make_dataset(plain, num_frames=15, samples_per_video=6)
    cached_set = make_dataset(cached, num_frames=15, samples_per_video=6)

    def check_same():
        for index in range(len(plain_set)):
            expected, got = plain_set[index], cached_set[index]
            for key in ("lr", "hr"):
                assert torch.equal(got[key], expected[key])

    check_same()
    assert [video.loaded for video in wrapped] == [[list(range(9))], [list(range(5))]]
    assert cache.stats().entries == 9 + 5
    for epoch, (num_frames, gt_crop) in enumerate([(7, 32), (11, 40)], start=1):
        for dataset in (plain_set, cached_set):
            dataset.set_shape(num_frames, gt_crop)
            dataset.set_epoch(epoch)
        check_same()
    assert [len(video.loaded) for video in wrapped] == [1, 1]
    assert sum(len(video.loaded) for video in plain) > 2 * len(plain_set)
