"""The multigrid schedule of VSR training (Lin et al., AAAI 2023)."""

import math

import pytest

from fedvideo.tasks.vsr.multigrid import multigrid, multigrid_sizes, multigrid_stages

# --- multigrid (Lin et al., AAAI 2023; ../shared/specs/multigrid.md) -----------


def test_multigrid_sizes_match_the_paper():
    assert multigrid_sizes(64, 2, 32) == [32, 64]  # REDS LR crops
    assert multigrid_sizes(15, 3, 6) == [7, 11, 15]  # REDS clip lengths
    assert multigrid_sizes(48, 2, 32) == [32, 48]  # floor: max(32, 24)
    assert multigrid_sizes(16, 2, 32) == [16]  # floor above the full size: one stage
    assert multigrid_sizes(7, 3, 6) == [6, 7]  # equal sizes merge
    assert multigrid_sizes(15, 1, 6) == [15]
    assert multigrid_sizes(64, 4, 8) == [32, 42, 53, 64]  # floor(64 * (3 + k) / 6)


def test_multigrid_stages_are_spatial_outer_temporal_inner_and_equal():
    stages = multigrid_stages(600, 64, 15)
    assert [(s.crop, s.frames) for s in stages] == [
        (32, 7), (32, 11), (32, 15), (64, 7), (64, 11), (64, 15),
    ]  # fmt: skip
    assert [s.start for s in stages] == [0, 100, 200, 300, 400, 500]
    assert {s.length for s in stages} == {100}
    # Sliding-window models: spatial cycle only.
    spatial = multigrid_stages(600, 64, 5, temporal_stages=1)
    assert [(s.start, s.crop, s.frames) for s in spatial] == [(0, 32, 5), (300, 64, 5)]
    with pytest.raises(ValueError, match="needs at least 6 iterations"):
        multigrid_stages(5, 64, 15)


def test_multigrid_hand_computed_points():
    base, eta_min = 8e-4, 1e-7
    # Stage 0 starts at the base rate, with the smallest shape.
    assert multigrid(0, 600, 64, 15, base, eta_min) == (32, 7, pytest.approx(base))
    # Stage 1, 50 iterations in; non-last stages anneal over all 600 iterations:
    # 1e-7 + (8e-4 - 1e-7) * (1 + cos(pi * 50 / 600)) / 2 = 7.86372e-4.
    crop, frames, lr = multigrid(150, 600, 64, 15, base, eta_min)
    assert (crop, frames) == (32, 11)
    assert lr == pytest.approx(7.86372e-4, rel=1e-5)
    # The restart: the last iteration of stage 2 and the first of stage 3.
    assert multigrid(299, 600, 64, 15, base, eta_min).lr == pytest.approx(
        1e-7 + 7.999e-4 * (1 + math.cos(math.pi * 99 / 600)) / 2
    )
    assert multigrid(300, 600, 64, 15, base, eta_min) == (64, 7, pytest.approx(base))
    # The last stage anneals over its own 100 iterations: half-way = the midpoint.
    assert multigrid(550, 600, 64, 15, base, eta_min) == (
        64,
        15,
        pytest.approx(4.0005e-4),
    )
    assert multigrid(599, 600, 64, 15, base, eta_min).lr == pytest.approx(
        2.97351e-7, rel=1e-5
    )
    with pytest.raises(ValueError):
        multigrid(600, 600, 64, 15, base)


def test_multigrid_warmup_multiplies_the_rate():
    # t = 9 of a 20-iteration warmup: factor (9 + 1) / 20 = 0.5 on
    # 1e-7 + 7.999e-4 * (1 + cos(pi * 9 / 600)) / 2 = 7.99556e-4.
    lr = multigrid(9, 600, 64, 15, 8e-4, 1e-7, warmup_iters=20).lr
    assert lr == pytest.approx(3.99778e-4, rel=1e-5)
    assert multigrid(19, 600, 64, 15, 8e-4, 1e-7, warmup_iters=20).lr == (
        multigrid(19, 600, 64, 15, 8e-4, 1e-7).lr
    )


def test_multigrid_federated_rounds_train_one_shape_each():
    steps, rounds = 10, 7  # 7 rounds do not divide into 6 stages
    shapes = {
        r: {
            multigrid(r * steps + s, rounds * steps, 64, 15, 1e-3, round_iters=steps)[
                :2
            ]
            for s in range(steps)
        }
        for r in range(rounds)
    }
    assert all(len(per_round) == 1 for per_round in shapes.values())
    assert [shapes[r].pop() for r in range(rounds)] == [
        (32, 7), (32, 11), (32, 15), (64, 7), (64, 11), (64, 15), (64, 15),
    ]  # fmt: skip
    # When the rounds divide evenly, federated = centralised, iteration by iteration.
    for t in range(120):
        assert multigrid(t, 120, 64, 15, 1e-3, round_iters=10) == multigrid(
            t, 120, 64, 15, 1e-3
        )
    with pytest.raises(ValueError, match="multiple of round_iters"):
        multigrid(0, 75, 64, 15, 1e-3, round_iters=10)
