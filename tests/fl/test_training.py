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
