import math

import pytest

from fedvideo.schedules import cosine_lr, global_progress


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
