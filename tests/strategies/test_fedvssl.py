"""FedVSSL weights and strategies: hand-computed values, SWA, checkpoint state."""

import math

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict

from fedvideo.config import ConfigError, default_run_config
from fedvideo.fl.checkpoint import load_round_checkpoint, save_round_checkpoint
from fedvideo.strategies import FedVideoStrategy, LossAware, SWAMixed, fedvssl_weights
from fedvideo.strategies.fedvssl import swa_mix
from fedvideo.strategies.validation import array_specs
from fedvideo.strategy import build_strategy
from fedvideo.tasks import federation_config


def test_fedvssl_weights_hand_computed():
    losses, sizes, alpha = [1.0, 2.0, 0.5], [10, 20, 70], 0.9
    e = [math.exp(-x) for x in losses]
    expected = [
        alpha * ei / sum(e) + (1 - alpha) * n / sum(sizes)
        for ei, n in zip(e, sizes, strict=True)
    ]
    np.testing.assert_allclose(fedvssl_weights(losses, sizes, alpha), expected)


def test_fedvssl_weights_alpha_extremes():
    np.testing.assert_allclose(fedvssl_weights([3.0, 0.1], [1, 3], 0.0), [0.25, 0.75])
    soft = np.exp([-3.0, -0.1]) / np.exp([-3.0, -0.1]).sum()
    np.testing.assert_allclose(fedvssl_weights([3.0, 0.1], [1, 3], 1.0), soft)


@pytest.mark.parametrize("losses", [[1e4, 1e4 + 1], [800.0, 900.0], [1e300, 1.0]])
def test_fedvssl_weights_finite_for_large_losses(losses):
    w = fedvssl_weights(losses, [5, 5], alpha=1.0)
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    assert w[0] >= w[1] or losses[0] > losses[1]


def test_fedvssl_weights_large_equal_losses_fall_back_to_uniform():
    np.testing.assert_allclose(fedvssl_weights([1e5, 1e5], [1, 3], 1.0), [0.5, 0.5])


@pytest.mark.parametrize(
    ("losses", "sizes", "alpha"),
    [([], [], 0.5), ([1.0], [1, 2], 0.5), ([np.nan], [1], 0.5), ([1.0], [0], 0.5)]
    + [([1.0], [1], 1.5), ([np.inf, 1.0], [1, 1], 0.5)],
)
def test_fedvssl_weights_reject_bad_input(losses, sizes, alpha):
    with pytest.raises(ValueError):
        fedvssl_weights(losses, sizes, alpha)


def _content(value: float, loss: float, num_examples: int) -> RecordDict:
    return RecordDict(
        {
            "arrays": ArrayRecord(
                {
                    "w": Array(np.full((2, 2), value, dtype=np.float32)),
                    "steps": Array(np.array(10 * value, dtype=np.int64)),
                }
            ),
            "metrics": MetricRecord({"train_loss": loss, "num-examples": num_examples}),
        }
    )


def _global(value: float) -> ArrayRecord:
    return ArrayRecord(
        {
            "w": Array(np.full((2, 2), value, dtype=np.float32)),
            "steps": Array(np.array(int(10 * value), dtype=np.int64)),
        }
    )


def _round(strategy, server_round, replies):
    strategy._reference = array_specs(_global(0.0))
    return strategy.aggregate_train(server_round, replies)


def test_loss_aware_aggregates_with_fedvssl_weights(reply_factory):
    strategy = LossAware(num_rounds=3, alpha=0.9)
    replies = [
        reply_factory(1, _content(1.0, 0.5, 1)),
        reply_factory(2, _content(3.0, 2.0, 3)),
    ]
    arrays, _ = _round(strategy, 1, replies)
    w = fedvssl_weights([0.5, 2.0], [1, 3], 0.9)
    np.testing.assert_allclose(arrays["w"].numpy(), w[0] + 3 * w[1], rtol=1e-6)
    assert [c["weight"] for c in strategy.reports[1].clients] == pytest.approx(w)


def test_integer_buffers_keep_their_dtype(reply_factory):
    strategy = FedVideoStrategy(num_rounds=2)
    replies = [
        reply_factory(1, _content(1.0, 0.5, 1)),
        reply_factory(2, _content(2.0, 0.5, 1)),
    ]
    arrays, _ = _round(strategy, 1, replies)
    assert arrays["steps"].dtype == "int64" and int(arrays["steps"].numpy()) == 15
    assert arrays["w"].dtype == "float32"


def test_swa_mixed_averages_with_previous_global_from_round_two(reply_factory):
    strategy = SWAMixed(num_rounds=3, alpha=0.0, decay=0.5)
    first, _ = _round(strategy, 1, [reply_factory(1, _content(2.0, 1.0, 1))])
    np.testing.assert_allclose(first["w"].numpy(), 2.0)  # round 1: no mixing
    assert strategy.reports[1].diagnostics["swa_mixed"] == 0.0
    second, _ = _round(strategy, 2, [reply_factory(1, _content(6.0, 1.0, 1))])
    np.testing.assert_allclose(second["w"].numpy(), 0.5 * 6.0 + 0.5 * 2.0)
    assert strategy.reports[2].diagnostics["swa_mixed"] == 1.0
    third, _ = _round(strategy, 3, [reply_factory(1, _content(0.0, 1.0, 1))])
    np.testing.assert_allclose(third["w"].numpy(), 0.5 * 0.0 + 0.5 * 4.0)


def test_swa_state_round_trips_through_checkpoint(tmp_path, reply_factory):
    strategy = SWAMixed(num_rounds=3, alpha=0.9)
    _round(strategy, 1, [reply_factory(1, _content(2.0, 1.0, 1))])
    path = tmp_path / "checkpoint.pt"
    save_round_checkpoint(path, 1, {}, strategy.state_dict())

    _, _, state = load_round_checkpoint(path)
    resumed = SWAMixed(num_rounds=3, alpha=0.9)
    resumed.load_state_dict(state)
    replies = [reply_factory(1, _content(6.0, 1.0, 1))]
    expected, _ = _round(strategy, 2, replies)
    got, _ = _round(resumed, 2, replies)
    np.testing.assert_array_equal(got["w"].numpy(), expected["w"].numpy())
    np.testing.assert_array_equal(got["w"].numpy(), np.full((2, 2), 4.0))


def test_swa_mix_rejects_different_models():
    with pytest.raises(ValueError, match="different parameter names"):
        swa_mix(_global(1.0), ArrayRecord({"w": Array(np.ones(2))}), 0.5)


def test_stateless_strategy_rejects_foreign_state():
    with pytest.raises(ValueError, match="keeps no state"):
        FedVideoStrategy(num_rounds=1).load_state_dict({"previous_global": {}})


@pytest.mark.parametrize(
    ("name", "cls"), [("loss-aware", LossAware), ("swa-mixed", SWAMixed)]
)
def test_build_strategy_reads_fedvssl_section(name, cls):
    config = default_run_config(
        {"strategy": name, "fedvssl.alpha": 0.3, "fedvssl.swa-decay": 0.25}
    )
    strategy = build_strategy(federation_config(config), config)
    assert isinstance(strategy, cls) and strategy.alpha == 0.3
    if cls is SWAMixed:
        assert strategy.decay == 0.25


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("fedvssl.alpha", 1.5, "fedvssl.alpha"), ("fedvssl.swa-decay", 0.0, "> 0")],
)
def test_build_strategy_bad_fedvssl_setting_names_key(key, value, message):
    config = default_run_config({"strategy": "swa-mixed", key: value})
    with pytest.raises(ConfigError, match=message):
        build_strategy(federation_config(config), config)
