"""FedVSR weights against hand-computed values; reply validation and aggregation."""

import math

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict

from fedvideo.fl.flower_compat import aggregate_arrayrecords
from fedvideo.strategies import FedVideoStrategy, FedVSR, fedvsr_weights
from fedvideo.strategies.fedvsr import hellinger_distance, inverse_loss_weights
from fedvideo.strategies.validation import array_specs


def test_fedvsr_weights_hand_computed():
    # r=1, T=10 -> p=0.9; w ∝ (1/0.1)^0.9, (1/0.4)^0.9
    w1, w2 = 10**0.9, 2.5**0.9
    w = np.array([w1, w2]) / (w1 + w2)
    h = math.sqrt(
        0.5
        * (
            (math.sqrt(0.5) - math.sqrt(w[0])) ** 2
            + (math.sqrt(0.5) - math.sqrt(w[1])) ** 2
        )
    )
    m = (h - 0.05) / 0.95
    expected = (1 - m) * 0.5 + m * w
    np.testing.assert_allclose(fedvsr_weights([0.1, 0.4], 1, 10), expected, rtol=1e-12)
    assert h > 0.05


def test_fedvsr_weights_below_threshold_are_uniform():
    # Nearly equal losses: Hellinger distance < 0.05 -> m = 0
    losses = [0.100, 0.101, 0.099]
    assert (
        hellinger_distance(np.full(3, 1 / 3), inverse_loss_weights(losses, 1, 5)) < 0.05
    )
    np.testing.assert_allclose(fedvsr_weights(losses, 1, 5), np.full(3, 1 / 3))


def test_fedvsr_last_round_is_uniform_and_weights_sum_to_one():
    np.testing.assert_allclose(
        fedvsr_weights([0.01, 5.0, 1.0], 7, 7), np.full(3, 1 / 3)
    )
    w = fedvsr_weights([1e-6, 1e6, 3.0], 1, 100)
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    assert w[0] > w[2] > w[1]  # lower loss -> larger weight


@pytest.mark.parametrize("losses", [[0.1, float("nan")], [0.1, -1.0], [0.0, 1.0], []])
def test_fedvsr_weights_reject_bad_losses(losses):
    with pytest.raises(ValueError):
        fedvsr_weights(losses, 1, 10)


def _content(
    value: float, loss: float, num_examples: float = 4, **arrays
) -> RecordDict:
    arrays = arrays or {"w": np.full((2, 2), value, dtype=np.float32)}
    return RecordDict(
        {
            "arrays": ArrayRecord({k: Array(v) for k, v in arrays.items()}),
            "metrics": MetricRecord({"train_loss": loss, "num-examples": num_examples}),
        }
    )


def _prime(strategy: FedVideoStrategy) -> None:
    global_arrays = ArrayRecord({"w": Array(np.zeros((2, 2), dtype=np.float32))})
    strategy._reference = array_specs(global_arrays)


def test_fedavg_weights_by_examples(reply_factory):
    strategy = FedVideoStrategy(num_rounds=3)
    _prime(strategy)
    replies = [
        reply_factory(1, _content(1.0, 0.5, 1)),
        reply_factory(2, _content(4.0, 0.5, 3)),
    ]
    arrays, metrics = strategy.aggregate_train(1, replies)
    np.testing.assert_allclose(arrays["w"].numpy(), np.full((2, 2), 3.25))
    assert metrics["train_loss"] == pytest.approx(0.5)
    weights = [c["weight"] for c in strategy.reports[1].clients]
    assert weights == pytest.approx([0.25, 0.75])


def test_fedvsr_aggregates_with_its_weights(reply_factory):
    strategy = FedVSR(num_rounds=10)
    _prime(strategy)
    replies = [
        reply_factory(1, _content(1.0, 0.1, 1)),
        reply_factory(2, _content(2.0, 0.4, 99)),
    ]
    arrays, _ = strategy.aggregate_train(1, replies)
    a = fedvsr_weights([0.1, 0.4], 1, 10)
    np.testing.assert_allclose(arrays["w"].numpy(), a[0] * 1.0 + a[1] * 2.0, rtol=1e-6)
    assert strategy.reports[1].diagnostics["hellinger"] > 0.05


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_content(1.0, float("nan")), "not finite and positive"),
        (_content(1.0, float("inf")), "not finite and positive"),
        (_content(1.0, -0.2), "not finite and positive"),
        (_content(1.0, 0.3, 0), "'num-examples' = 0.0"),
        (_content(1.0, 0.3, 2.5), "not a whole number"),
        (_content(1.0, 0.3, w=np.zeros((3, 2), np.float32)), "is (3, 2) float32"),
        (_content(1.0, 0.3, w=np.zeros((2, 2), np.float64)), "expected (2, 2) float32"),
        (_content(1.0, 0.3, v=np.zeros((2, 2), np.float32)), "array keys differ"),
        (_content(1.0, 0.3, w=np.full((2, 2), np.nan, np.float32)), "NaN or inf"),
        (_content(1.0, 0.3, w=np.full((2, 2), -np.inf, np.float32)), "NaN or inf"),
        (_content(1.0, 0.3, w=np.zeros((2, 2), np.int32)), "expected (2, 2) float32"),
        (_content(1.0, 0.3, w=np.zeros(4, np.float32)), "is (4,) float32"),
        (_content(1.0, 0.3, 10**12), "exceeds max-num-examples"),
        (_content(1.0, 0.3, -5), "not finite and positive"),
        (_content(1.0, 5e6), "exceeds max-train-loss"),
        (
            RecordDict(
                {
                    "arrays": ArrayRecord({"w": Array(np.zeros((2, 2), np.float32))}),
                    "metrics": MetricRecord({"num-examples": 3}),
                }
            ),
            "metric 'train_loss' missing",
        ),
        (
            RecordDict(
                {
                    "arrays": ArrayRecord({"w": Array(np.zeros((2, 2), np.float32))}),
                    "more": ArrayRecord({"w": Array(np.zeros((2, 2), np.float32))}),
                    "metrics": MetricRecord({"train_loss": 0.3, "num-examples": 3}),
                }
            ),
            "expected exactly one ArrayRecord, got 2",
        ),
    ],
)
def test_bad_reply_dropped_round_goes_on(content, reason, reply_factory):
    strategy = FedVSR(num_rounds=4)
    _prime(strategy)
    good = reply_factory(1, _content(2.0, 0.2))
    arrays, _ = strategy.aggregate_train(2, [good, reply_factory(9, content)])
    np.testing.assert_allclose(arrays["w"].numpy(), np.full((2, 2), 2.0))
    dropped = strategy.reports[2].dropped
    assert len(dropped) == 1 and dropped[0]["node_id"] == 9
    assert reason in dropped[0]["reason"]


def test_error_reply_dropped_and_all_dropped_returns_none(reply_factory):
    strategy = FedVideoStrategy(num_rounds=2)
    _prime(strategy)
    arrays, metrics = strategy.aggregate_train(
        1, [reply_factory(3, error="out of memory")]
    )
    assert arrays is None and metrics is None
    assert "out of memory" in strategy.reports[1].dropped[0]["reason"]


def test_average_equals_flowers_aggregation_bit_for_bit(reply_factory):
    rng = np.random.default_rng(3)
    layout = {"w": ((5, 7), np.float32), "steps": ((1,), np.int64)}
    reference = ArrayRecord({k: Array(np.zeros(s, d)) for k, (s, d) in layout.items()})
    contents = []
    for pid in range(4):
        arrays = {
            "w": Array(rng.standard_normal((5, 7)).astype(np.float32)),
            "steps": Array(np.array([10 + pid], np.int64)),
        }
        metrics = {
            "train_loss": 0.1 + pid / 7,
            "num-examples": 3 + pid,
            "partition_id": pid,
        }
        contents.append(
            RecordDict(
                {"arrays": ArrayRecord(arrays), "metrics": MetricRecord(metrics)}
            )
        )
    strategy = FedVSR(num_rounds=5)
    strategy._reference = array_specs(reference)
    arrays, _ = strategy.aggregate_train(
        2, [reply_factory(9 - i, c) for i, c in enumerate(contents)]
    )
    # The same weights through Flower's own weighted aggregation, then cast.
    weighted = [
        RecordDict(
            {
                "arrays": c["arrays"],
                "metrics": MetricRecord({"aggregation-weight": client["weight"]}),
            }
        )
        for c, client in zip(contents, strategy.reports[2].clients, strict=True)
    ]
    expected = aggregate_arrayrecords(weighted, "aggregation-weight")
    assert arrays["w"].numpy().dtype == np.float32
    np.testing.assert_array_equal(arrays["w"].numpy(), expected["w"].numpy())
    assert arrays["steps"].numpy().dtype == np.int64
    np.testing.assert_array_equal(
        arrays["steps"].numpy(), np.rint(expected["steps"].numpy()).astype(np.int64)
    )


def test_a_reply_with_nan_is_found_after_the_average_and_left_out(reply_factory):
    strategy = FedVideoStrategy(num_rounds=3)
    _prime(strategy)
    good = [reply_factory(n, _content(float(n), 0.2)) for n in (1, 2)]
    bad = reply_factory(7, _content(1.0, 0.2, w=np.full((2, 2), np.nan, np.float32)))
    arrays, _ = strategy.aggregate_train(1, [good[0], bad, good[1]])
    np.testing.assert_allclose(arrays["w"].numpy(), np.full((2, 2), 1.5))
    (dropped,) = strategy.reports[1].dropped
    assert dropped["node_id"] == 7 and "NaN or inf" in dropped["reason"]
    assert [c["node_id"] for c in strategy.reports[1].clients] == [1, 2]
