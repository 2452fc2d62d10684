import math

import pytest

from fedvideo.fl.schedules import (
    cosine_lr,
    global_progress,
    linear_scaled_lr,
    warmup_factor,
)


def test_global_progress():
    assert global_progress(1, 4, 0, 10) == 0.0
    assert global_progress(2, 4, 5, 10) == pytest.approx(1.5 / 4)
    assert global_progress(4, 4, 9, 10) == pytest.approx(3.9 / 4)
    with pytest.raises(ValueError):
        global_progress(5, 4, 0, 10)
    with pytest.raises(ValueError):
        global_progress(1, 4, 10, 10)


def test_cosine_lr_hand_values():
    assert cosine_lr(0.0, 4e-4, 1e-7) == pytest.approx(4e-4)
    assert cosine_lr(1.0, 4e-4, 1e-7) == pytest.approx(1e-7)
    assert cosine_lr(0.5, 4e-4, 0.0) == pytest.approx(2e-4)
    assert cosine_lr(0.25, 1.0, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_warmup_factor_and_linear_scaling_hand_values():
    assert warmup_factor(0, 5000) == pytest.approx(1 / 5000)
    assert warmup_factor(2499, 5000) == 0.5
    assert warmup_factor(4999, 5000) == 1.0
    assert warmup_factor(10**6, 5000) == 1.0
    assert warmup_factor(0, 0) == 1.0
    # The paper: 2e-4 at batch 16 becomes 8e-4 at batch 64.
    assert linear_scaled_lr(2e-4, 64, 16) == pytest.approx(8e-4)
    assert linear_scaled_lr(2e-4, 8, 16) == pytest.approx(1e-4)
    assert linear_scaled_lr(2e-4, 64, 0) == 2e-4  # no reference: no scaling
    with pytest.raises(ValueError):
        linear_scaled_lr(2e-4, 0, 16)
