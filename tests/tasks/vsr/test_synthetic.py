"""Tests for the embedded synthetic VSR dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.degradation import bicubic_downsample
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS, discover_vsr_dataset
from fedvideo.tasks.vsr.data.synthetic import (
    DOMAINS,
    degrade,
    domain_of,
    make_synthetic_videos,
    parse_domains,
    synthetic_vsr_splits,
    write_synthetic_reds,
)
from fedvideo.tasks.vsr.metrics import psnr


@pytest.fixture(scope="module")
def splits():
    return synthetic_vsr_splits(7, 4, 2, 6, 48, 64, scale=4)


def test_shapes_and_dtypes(splits):
    train, test = splits
    assert [v.name for v in train] == [f"synthetic-train-{k:04d}" for k in range(4)]
    assert [v.name for v in test] == ["synthetic-test-0000", "synthetic-test-0001"]
    for video in train + test:
        lr, hr = video.load(range(video.num_frames))
        assert lr.dtype == hr.dtype == np.uint8
        assert lr.shape == (6, 12, 16, 3)
        assert hr.shape == (6, 48, 64, 3)
        assert video.lr_size == (12, 16) and video.hr_size == (48, 64)


def test_same_seed_is_bit_identical_and_other_seeds_differ():
    first = make_synthetic_videos(11, 3, 4, 32, 32)
    again = make_synthetic_videos(11, 3, 4, 32, 32)
    other = make_synthetic_videos(12, 3, 4, 32, 32)
    for a, b, c in zip(first, again, other, strict=True):
        assert np.array_equal(a.hr, b.hr) and np.array_equal(a.lr, b.lr)
        assert not np.array_equal(a.hr, c.hr)


def test_video_does_not_depend_on_number_of_videos():
    few = make_synthetic_videos(3, 2, 4, 32, 32)
    many = make_synthetic_videos(3, 5, 4, 32, 32)
    for a, b in zip(few, many, strict=False):
        assert np.array_equal(a.hr, b.hr)


def test_splits_are_deterministic(splits):
    train, test = synthetic_vsr_splits(7, 4, 2, 6, 48, 64, scale=4)
    for a, b in zip(splits[0] + splits[1], train + test, strict=True):
        assert np.array_equal(a.hr, b.hr)


def test_lr_is_the_documented_bicubic_downsample(splits):
    for video in splits[0]:
        assert np.array_equal(video.lr, bicubic_downsample(video.hr, 4))
        pillow = np.stack(
            [
                np.asarray(
                    Image.fromarray(f).resize((16, 12), Image.Resampling.BICUBIC)
                )
                for f in video.hr
            ]
        )
        assert np.array_equal(video.lr, pillow)
        hr = torch.from_numpy(video.hr.copy()).permute(0, 3, 1, 2).float()
        torch_aa = F.interpolate(
            hr, size=(12, 16), mode="bicubic", antialias=True, align_corners=False
        )
        torch_aa = torch_aa.round().clamp(0, 255).permute(0, 2, 3, 1).numpy()
        # Pillow rounds between its two passes: off by one almost everywhere.
        difference = np.abs(torch_aa - video.lr.astype(np.float32))
        assert difference.max() <= 4
        assert (difference > 1).mean() < 0.005


def test_consecutive_frames_differ(splits):
    for video in splits[0] + splits[1]:
        diffs = np.abs(np.diff(video.hr.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
        assert diffs.min() > 2.0, video.name


def test_hr_has_detail_that_bicubic_cannot_restore(splits):
    for video in splits[0]:
        upsampled = np.stack(
            [
                np.asarray(
                    Image.fromarray(f).resize((64, 48), Image.Resampling.BICUBIC)
                )
                for f in video.lr
            ]
        )
        residual = video.hr.astype(np.float64) - upsampled
        assert np.sqrt((residual**2).mean()) > 5.0, video.name
        # Energy above the LR Nyquist frequency of the HR spectrum.
        grey = video.hr.astype(np.float64).mean(axis=-1)
        spectrum = np.abs(np.fft.fft2(grey - grey.mean(axis=(1, 2), keepdims=True)))
        fy = np.abs(np.fft.fftfreq(48))[:, None]
        fx = np.abs(np.fft.fftfreq(64))[None, :]
        high = (np.maximum(fy, fx) > 1 / 8)[None]
        assert (spectrum**2 * high).sum() / (spectrum**2).sum() > 0.01


def test_train_and_test_clips_differ(splits):
    train, test = splits
    for t in test:
        for v in train:
            assert not np.array_equal(t.hr[0], v.hr[0])


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"height": 30}, "synthetic.height"),
        ({"width": 0}, "synthetic.width"),
        ({"num_frames": 0}, "synthetic.frames"),
        ({"num_videos": 0}, "synthetic.train-videos"),
        ({"seed": -1}, "seed"),
        ({"scale": 0}, "vsr.scale"),
    ],
)
def test_invalid_settings_are_named(kwargs, setting):
    arguments = {
        "seed": 1,
        "num_videos": 1,
        "num_frames": 2,
        "height": 32,
        "width": 32,
        "scale": 4,
    }
    arguments.update(kwargs)
    with pytest.raises(DatasetError, match=setting):
        make_synthetic_videos(**arguments)


def test_split_counts_are_named():
    with pytest.raises(DatasetError, match="synthetic.test-videos"):
        synthetic_vsr_splits(1, 2, 0, 2, 32, 32)


def test_write_synthetic_reds_round_trips(tmp_path):
    root = tmp_path / "reds"
    names = write_synthetic_reds(
        root, seed=5, num_videos=3, num_frames=3, height=32, width=32
    )
    assert names == {"train": ["001", "002", "003"], "test": list(REDS4_CLIPS)}
    assert (root / "train_sharp_bicubic" / "X4" / "002" / "00000002.png").is_file()
    dataset = discover_vsr_dataset(root)
    assert [v.name for v in dataset.train] == ["001", "002", "003"]
    assert [v.name for v in dataset.test] == list(REDS4_CLIPS)
    train, test = synthetic_vsr_splits(5, 3, 4, 3, 32, 32)
    for on_disk, in_memory in zip(
        dataset.train + dataset.test, train + test, strict=True
    ):
        lr, hr = on_disk.load([0, 1, 2])
        assert np.array_equal(lr, in_memory.lr) and np.array_equal(hr, in_memory.hr)


def test_write_synthetic_reds_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(DatasetError, match=str(tmp_path)):
        write_synthetic_reds(tmp_path, num_videos=1, num_frames=2, height=16, width=16)


# --- domains (families of clips that differ in how hard VSR is) ---------------

ALL_DOMAINS = tuple(DOMAINS.values())


def _bicubic_psnr(video) -> float:
    lr, hr = video.load(range(video.num_frames))
    lr_t, hr_t = (torch.from_numpy(a).permute(0, 3, 1, 2) / 255.0 for a in (lr, hr))
    up = F.interpolate(lr_t, scale_factor=4, mode="bicubic")
    return psnr(up.clamp(0, 1), hr_t)


def test_the_default_domain_is_the_original_generator():
    assert parse_domains("") == (DOMAINS["mixed"],)
    default = make_synthetic_videos(5, 2, 3, 32, 32)
    explicit = make_synthetic_videos(5, 2, 3, 32, 32, domains=(DOMAINS["mixed"],))
    for a, b in zip(default, explicit, strict=True):
        assert a.name == b.name and a.name.startswith("synthetic-")
        assert domain_of(a.name) == ""
        for x, y in zip(a.load(range(3)), b.load(range(3)), strict=True):
            assert np.array_equal(x, y)


def test_domains_take_turns_and_are_named_and_deterministic():
    videos = make_synthetic_videos(3, 10, 3, 32, 32, domains=ALL_DOMAINS)
    names = [domain.name for domain in ALL_DOMAINS]
    assert [domain_of(v.name) for v in videos] == names + names
    again = make_synthetic_videos(3, 10, 3, 32, 32, domains=ALL_DOMAINS)
    for a, b in zip(videos, again, strict=True):
        assert a.name == b.name
        for x, y in zip(a.load(range(3)), b.load(range(3)), strict=True):
            assert np.array_equal(x, y)


def test_domains_differ_in_how_much_bicubic_leaves_to_restore():
    domains = (DOMAINS["smooth"], DOMAINS["fine"])
    videos = make_synthetic_videos(11, 8, 4, 64, 64, domains=domains)
    smooth = np.mean([_bicubic_psnr(v) for v in videos[0::2]])
    fine = np.mean([_bicubic_psnr(v) for v in videos[1::2]])
    assert smooth > fine + 5.0  # dB: the fine domain is much harder


def test_degraded_lr_is_blurred_and_noisy_and_reproducible():
    (video,) = make_synthetic_videos(4, 1, 3, 32, 32, domains=(DOMAINS["degraded"],))
    lr, hr = video.load(range(3))
    plain = bicubic_downsample(hr, 4)
    assert np.abs(lr.astype(int) - plain.astype(int)).mean() > 1.0
    rng = np.random.default_rng(0)
    assert np.array_equal(
        degrade(hr, 4, DOMAINS["degraded"], rng),
        degrade(hr, 4, DOMAINS["degraded"], np.random.default_rng(0)),
    )
    assert np.array_equal(degrade(hr, 4, DOMAINS["fast"], rng), plain)


def test_fast_domain_moves_more():
    def motion(domain):
        videos = make_synthetic_videos(2, 6, 4, 64, 64, domains=(domain,))
        return np.mean(
            [
                np.abs(np.diff(v.load(range(4))[1].astype(float), axis=0)).mean()
                for v in videos
            ]
        )

    assert motion(DOMAINS["fast"]) > motion(DOMAINS["smooth"])


@pytest.mark.parametrize("text", ["smooth,unknown", "fine,fine"])
def test_bad_domain_lists_are_named(text):
    with pytest.raises(DatasetError, match="synthetic.domains"):
        parse_domains(text)
