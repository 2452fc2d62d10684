"""Bad clients' corrupted training pairs (vsr.bad-clients, vsr.bad-corruption)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flwr.app import RecordDict
from tiny_tasks import tiny_task

from fedvideo.config import ConfigError
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import RoundInfo
from fedvideo.tasks.vsr.data.corruption import (
    CorruptedVideo,
    Corruption,
    parse_bad_clients,
    parse_corruption,
)
from fedvideo.tasks.vsr.data.video import InMemoryVideo

CPU = torch.device("cpu")


def clip() -> InMemoryVideo:
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    hr = rng.integers(0, 256, (3, 16, 20, 3), dtype=np.uint8)
    return InMemoryVideo("clip", lr, hr)


def test_parse_corruption_and_bad_clients():
    assert parse_corruption("shift:4") == Corruption("shift", 4.0)
    assert parse_corruption("noise:12.5") == Corruption("noise", 12.5)
    for bad in ("shift:0", "shift:1.5", "noise:0", "blur:2", "shift", "noise:x"):
        with pytest.raises(ConfigError, match="vsr.bad-corruption"):
            parse_corruption(bad)
    assert parse_bad_clients("") == frozenset()
    assert parse_bad_clients("3, 1") == frozenset({1, 3})
    with pytest.raises(ConfigError, match="vsr.bad-clients"):
        parse_bad_clients("1,-2")


def test_shift_moves_hr_against_a_clean_lr():
    video = clip()
    lr, hr = CorruptedVideo(video, Corruption("shift", 2)).load([0, 2])
    clean_lr, clean_hr = video.load([0, 2])
    np.testing.assert_array_equal(lr, clean_lr)
    np.testing.assert_array_equal(hr[:, 2:, 2:], clean_hr[:, :-2, :-2])
    np.testing.assert_array_equal(hr[:, :2, :2], clean_hr[:, -2:, -2:])  # wraps


def test_noise_is_the_same_each_time_a_frame_is_loaded():
    video = CorruptedVideo(clip(), Corruption("noise", 20))
    _, first = video.load([1, 2])
    _, again = video.load([2])
    np.testing.assert_array_equal(first[1], again[0])
    _, clean = clip().load([1, 2])
    difference = np.abs(first.astype(float) - clean.astype(float))
    assert 8 < difference.mean() < 20  # ~0.8 std, less where clipped at 0 / 255
    noise = first.astype(int) - clean.astype(int)
    assert not np.array_equal(noise[0], noise[1])  # each frame its own noise


def test_only_the_bad_clients_train_on_corrupted_pairs():
    clean, _, _ = tiny_task()
    bad, _, _ = tiny_task(**{"vsr.bad-clients": "0", "vsr.bad-corruption": "shift:4"})
    batches = {}
    for name, task in (("clean", clean), ("bad", bad)):
        for partition in (0, 1):
            model = task.build_model()
            plan = task.local_training(
                model, ClientInfo(partition, 2), RoundInfo(1, 3), 7, CPU, RecordDict()
            )
            batches[name, partition] = (next(plan.batches), plan.metrics["bad_client"])
    (clean0, flag_clean), (bad0, flag_bad) = batches["clean", 0], batches["bad", 0]
    assert (flag_clean, flag_bad, batches["bad", 1][1]) == (0.0, 1.0, 0.0)
    torch.testing.assert_close(bad0["lr"], clean0["lr"])
    assert not torch.equal(bad0["hr"], clean0["hr"])
    torch.testing.assert_close(batches["bad", 1][0]["hr"], batches["clean", 1][0]["hr"])
    with pytest.raises(ConfigError, match="vsr.bad-clients"):
        tiny_task(**{"vsr.bad-clients": "zero"})
