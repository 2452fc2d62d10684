"""Failure injection, minimum replies and reply limits of the strategies."""

import logging

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict

from fedvideo.config import (
    ConfigError,
    default_run_config,
)
from fedvideo.strategies import FedVideoStrategy, FedVSR, ReplyLimits
from fedvideo.strategies.failures import upload_lost
from fedvideo.strategies.validation import array_specs
from fedvideo.strategy import build_strategy
from fedvideo.tasks import federation_config


def _content(value: float, loss: float, partition_id: int, num_examples: int = 4):
    return RecordDict(
        {
            "arrays": ArrayRecord({"w": Array(np.full((2, 2), value, np.float32))}),
            "metrics": MetricRecord(
                {
                    "train_loss": loss,
                    "num-examples": num_examples,
                    "partition_id": partition_id,
                }
            ),
        }
    )


def _primed(strategy: FedVideoStrategy) -> FedVideoStrategy:
    reference = ArrayRecord({"w": Array(np.zeros((2, 2), np.float32))})
    strategy._reference = array_specs(reference)
    return strategy


def test_upload_lost_is_deterministic_and_has_the_asked_rate():
    draws = [upload_lost(7, r, c, 0.25) for r in range(1, 201) for c in range(20)]
    again = [upload_lost(7, r, c, 0.25) for r in range(1, 201) for c in range(20)]
    assert draws == again
    assert np.mean(draws) == pytest.approx(0.25, abs=0.02)  # 4000 draws: sd 0.007
    other_seed = [upload_lost(8, r, c, 0.25) for r in range(1, 201) for c in range(20)]
    assert other_seed != draws


def test_upload_lost_extremes_and_bad_probability():
    assert not any(upload_lost(1, r, 0, 0.0) for r in range(1, 100))
    assert all(upload_lost(1, r, 0, 1.0) for r in range(1, 100))
    assert upload_lost(-3, 1, -(2**40), 1.0)  # any integers are valid keys
    with pytest.raises(ValueError, match="probability"):
        upload_lost(1, 1, 0, 1.5)


def test_injected_losses_follow_upload_lost_by_partition_id(reply_factory):
    seed, p = 11, 0.5
    strategy = _primed(FedVideoStrategy(num_rounds=5, upload_loss=p, seed=seed))
    for server_round in range(1, 6):
        # Node ids change between runs; the partition id keys the decision.
        replies = [
            reply_factory(1000 + server_round * 10 + pid, _content(pid, 0.2, pid))
            for pid in range(6)
        ]
        strategy.aggregate_train(server_round, replies)
        lost = {
            d["node_id"] - 1000 - server_round * 10
            for d in strategy.reports[server_round].dropped
        }
        expected = {pid for pid in range(6) if upload_lost(seed, server_round, pid, p)}
        assert lost == expected
        assert all(d["injected"] for d in strategy.reports[server_round].dropped)
        kept = {
            c["node_id"] - 1000 - server_round * 10
            for c in strategy.reports[server_round].clients
        }
        assert kept == set(range(6)) - expected


def test_lost_uploads_leave_the_average_of_the_rest(reply_factory):
    seed = next(
        s
        for s in range(100)
        if upload_lost(s, 1, 0, 0.5) and not upload_lost(s, 1, 1, 0.5)
    )
    strategy = _primed(FedVSR(num_rounds=3, upload_loss=0.5, seed=seed))
    arrays, _ = strategy.aggregate_train(
        1,
        [
            reply_factory(5, _content(1.0, 0.2, 0)),
            reply_factory(6, _content(3.0, 0.2, 1)),
        ],
    )
    np.testing.assert_allclose(arrays["w"].numpy(), np.full((2, 2), 3.0))


def test_too_few_replies_keep_the_global_model(reply_factory, caplog):
    strategy = _primed(FedVideoStrategy(num_rounds=3, min_train_replies=2))
    with caplog.at_level(logging.WARNING, logger="flwr"):
        arrays, metrics = strategy.aggregate_train(
            1, [reply_factory(5, _content(1.0, 0.2, 0)), reply_factory(6, error="oom")]
        )
    assert arrays is None and metrics is None
    assert "fewer than min-train-replies (2)" in strategy.reports[1].skipped
    arrays, _ = strategy.aggregate_train(
        2,
        [
            reply_factory(5, _content(1.0, 0.2, 0)),
            reply_factory(6, _content(3.0, 0.2, 1)),
        ],
    )
    np.testing.assert_allclose(arrays["w"].numpy(), np.full((2, 2), 2.0))
    assert strategy.reports[2].skipped is None


def test_rejections_are_logged_with_their_reason(reply_factory, caplog):
    strategy = _primed(FedVideoStrategy(num_rounds=3, limits=ReplyLimits(100, 10.0)))
    logger = logging.getLogger("flwr")
    logger.addHandler(caplog.handler)  # flwr's logger does not propagate
    try:
        strategy.aggregate_train(
            1,
            [
                reply_factory(5, _content(1.0, 0.2, 0)),
                reply_factory(6, _content(1.0, 0.2, 1, num_examples=101)),
                reply_factory(7, _content(1.0, 11.0, 2)),
            ],
        )
    finally:
        logger.removeHandler(caplog.handler)
    text = caplog.text
    assert (
        "dropped reply of node 6: 'num-examples' = 101 exceeds max-num-examples (100)"
        in text
    )
    assert (
        "dropped reply of node 7: 'train_loss' = 11 exceeds max-train-loss (10)" in text
    )
    assert [c["node_id"] for c in strategy.reports[1].clients] == [5]


def test_build_strategy_reads_the_reliability_section():
    config = dict(default_run_config())
    config |= {
        "reliability.min-train-replies": 2,
        "reliability.upload-loss": 0.25,
        "reliability.max-num-examples": 50,
        "reliability.max-train-loss": 2.0,
    }
    strategy = build_strategy(federation_config(config), config)
    assert strategy.min_train_replies == 2 and strategy.upload_loss == 0.25
    assert strategy.limits == ReplyLimits(50, 2.0)
    assert strategy.seed == config["seed"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reliability.upload-loss", 1.5, "reliability.upload-loss"),
        ("reliability.min-train-replies", 0, "reliability.min-train-replies"),
        ("reliability.max-train-loss", 0.0, "reliability.max-train-loss"),
        ("reliability.max-num-examples", 2.5, "reliability.max-num-examples"),
    ],
)
def test_bad_reliability_settings_name_the_key(key, value, message):
    config = dict(default_run_config()) | {key: value}
    with pytest.raises(ConfigError, match=message):
        build_strategy(federation_config(config), config)


def test_aggregation_does_not_depend_on_arrival_order(reply_factory):
    # Float sums depend on their order: 1e16 + 1 - 1e16 is not 1e16 - 1e16 + 1.
    values = {0: 1e16, 1: 1.0, 2: -1e16}

    def aggregate(order):
        strategy = _primed(FedVideoStrategy(num_rounds=1))
        replies = [reply_factory(10 + p, _content(values[p], 0.2, p)) for p in order]
        arrays, _ = strategy.aggregate_train(1, replies)
        clients = [c["node_id"] for c in strategy.reports[1].clients]
        return arrays["w"].numpy(), clients

    reference, clients = aggregate([0, 1, 2])
    assert clients == [10, 11, 12]
    for order in ([2, 1, 0], [1, 2, 0], [0, 2, 1]):
        result, clients = aggregate(order)
        assert clients == [10, 11, 12]
        np.testing.assert_array_equal(result, reference)
