"""The client's update norm, reported every round by every strategy's clients."""

from __future__ import annotations

import math

import pytest
import torch

from fedvideo.fl.training import update_norm


def test_update_norm_hand_computed_over_the_start_keys():
    start = {"a": torch.zeros(2), "b": torch.ones(1, 2)}
    end = {"a": torch.tensor([3.0, 0.0]), "b": torch.tensor([[1.0, 5.0]]), "c": 9.0}
    assert update_norm(start, end) == pytest.approx(math.sqrt(9 + 16))
    assert update_norm(start, start) == 0.0


def test_update_norm_is_float64_for_low_precision_weights():
    start = {"w": torch.zeros(4, dtype=torch.bfloat16)}
    end = {"w": torch.full((4,), 0.5, dtype=torch.bfloat16)}
    assert update_norm(start, end) == 1.0


def test_train_steps_updates_adaptive_threads_and_reports_their_mean():
    from torch import nn

    from fedvideo.fl.threads import AdaptiveThreads, CpuSample
    from fedvideo.fl.training import train_steps

    calls = []

    def sample():
        # other processes fill the cores from the third step on
        calls.append(len(calls))
        others = 0.0 if len(calls) < 4 else 4.0 * len(calls)
        return CpuSample(wall=2.0 * len(calls), machine_busy=others, own=0.0)

    before = torch.get_num_threads()
    try:
        threads = AdaptiveThreads(limit=2, interval=1.0, cpu_count=2, sample=sample)
        model = nn.Linear(2, 1)
        data = iter([{"x": torch.ones(1, 2), "y": torch.ones(1, 1)}] * 4)
        result = train_steps(
            model,
            data,
            4,
            lambda m, b: (nn.functional.mse_loss(m(b["x"]), b["y"]), {}),
            torch.optim.SGD(model.parameters(), lr=0.1),
            lambda step: 0.1,
            torch.device("cpu"),
            log_every=100,
            threads=threads,
        )
    finally:
        torch.set_num_threads(before)
    assert result.metrics()["threads"] == pytest.approx((2 + 2 + 1 + 1) / 4)
    without = train_steps(
        model,
        iter([{"x": torch.ones(1, 2), "y": torch.ones(1, 1)}]),
        1,
        lambda m, b: (nn.functional.mse_loss(m(b["x"]), b["y"]), {}),
        torch.optim.SGD(model.parameters(), lr=0.1),
        lambda step: 0.1,
        torch.device("cpu"),
    )
    assert "threads" not in without.metrics()
