"""Client failures that end a run, and the per-client error record."""

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict

from fedvideo.data.errors import DatasetError
from fedvideo.fl.client_errors import input_error_reason
from fedvideo.strategies import FedVideoStrategy
from fedvideo.strategies.run_health import (
    ClientErrorLog,
    RunFailed,
    all_input_errors,
    failed_round_message,
)
from fedvideo.strategies.validation import array_specs


def _content(partition_id: int) -> RecordDict:
    return RecordDict(
        {
            "arrays": ArrayRecord({"w": Array(np.ones((2, 2), np.float32))}),
            "metrics": MetricRecord(
                {"train_loss": 0.5, "num-examples": 4, "partition_id": partition_id}
            ),
        }
    )


def _strategy(**kwargs) -> FedVideoStrategy:
    strategy = FedVideoStrategy(num_rounds=10, **kwargs)
    reference = ArrayRecord({"w": Array(np.zeros((2, 2), np.float32))})
    strategy._reference = array_specs(reference)
    return strategy


def _input_error(client: str, message: str) -> str:
    return input_error_reason(client, DatasetError(message))


def test_a_round_of_only_input_errors_ends_the_run_with_the_shared_message(
    reply_factory,
):
    strategy = _strategy()
    reason = "partition file /p.json holds 3 partitions, not num-partitions=2"
    replies = [
        reply_factory(n, error=_input_error(f"partition {n} of 2", reason))
        for n in range(2)
    ]
    with pytest.raises(RunFailed, match="same data or configuration error") as info:
        strategy.aggregate_train(1, replies)
    assert "/p.json" in str(info.value)
    assert str(info.value).count("/p.json") == 1  # quoted once, not per client
    rows = strategy.client_errors.summary()
    assert [row["client"] for row in rows] == ["partition 0 of 2", "partition 1 of 2"]
    assert all(row["input_error"] and row["every_round"] for row in rows)


def test_different_input_errors_are_listed_per_client(reply_factory):
    strategy = _strategy()
    replies = [
        reply_factory(1, error=_input_error("partition 0 of 2", "bad frame /a.png")),
        reply_factory(2, error=_input_error("partition 1 of 2", "bad frame /b.png")),
    ]
    with pytest.raises(RunFailed, match="partition 0 of 2: DatasetError: bad frame"):
        strategy.aggregate_train(1, replies)


def test_one_bad_client_is_recorded_and_the_run_goes_on(reply_factory):
    strategy = _strategy()
    for server_round in (1, 2):
        replies = [
            reply_factory(1, _content(0)),
            reply_factory(2, error=_input_error("partition 1 of 2", "no clip 'x'")),
        ]
        arrays, _ = strategy.aggregate_train(server_round, replies)
        assert arrays is not None
    (row,) = strategy.client_errors.summary()
    assert row == {
        "client": "partition 1 of 2",
        "failed_rounds": 2,
        "of_rounds": 2,
        "every_round": True,
        "rounds": [1, 2],
        "input_error": True,
        "last_error": "DatasetError: no clip 'x'",
    }
    assert strategy.updated_rounds == 2


def test_transient_errors_fail_the_run_after_max_failed_rounds(reply_factory):
    strategy = _strategy(max_failed_rounds=2)
    crash = "<class 'flwr.ClientAppException'>:<'out of memory'>"
    for server_round in (1, 2):
        arrays, _ = strategy.aggregate_train(
            server_round, [reply_factory(1, error=crash)]
        )
        assert arrays is None
    with pytest.raises(RunFailed, match="3 rounds in a row.*max-failed-rounds \\(2\\)"):
        strategy.aggregate_train(3, [reply_factory(1, error=crash)])


def test_an_accepted_round_resets_the_count_and_zero_means_no_limit(reply_factory):
    strategy = _strategy(max_failed_rounds=1)
    crash = "<class 'Exception'>:<'boom'>"
    strategy.aggregate_train(1, [reply_factory(1, error=crash)])
    strategy.aggregate_train(2, [reply_factory(1, _content(0))])
    strategy.aggregate_train(3, [reply_factory(1, error=crash)])
    with pytest.raises(RunFailed):
        strategy.aggregate_train(4, [reply_factory(1, error=crash)])
    unlimited = _strategy(max_failed_rounds=0)
    for server_round in range(1, 8):
        unlimited.aggregate_train(server_round, [reply_factory(1, error=crash)])
    assert unlimited.updated_rounds == 0


def test_rounds_lost_to_failure_injection_do_not_count(reply_factory):
    strategy = _strategy(max_failed_rounds=1, upload_loss=1.0)
    for server_round in range(1, 6):
        arrays, _ = strategy.aggregate_train(
            server_round, [reply_factory(1, _content(0))]
        )
        assert arrays is None
    assert strategy.client_errors.summary() == []


def test_pure_helpers():
    dropped = [
        {"client": "partition 0 of 2", "error": "E: x", "input_error": True},
        {"client": "partition 1 of 2", "error": "E: x", "input_error": True},
    ]
    assert all_input_errors(dropped, 2)
    assert not all_input_errors(dropped, 3)  # a third reply was not an input error
    assert not all_input_errors([], 0)
    assert failed_round_message(4, dropped).startswith("round 4: every client (2)")
    log = ClientErrorLog()
    log.record(1, dropped[:1])
    log.record(2, [])
    (row,) = log.summary()
    assert (row["failed_rounds"], row["of_rounds"], row["every_round"]) == (1, 2, False)


def test_max_failed_rounds_must_not_be_negative():
    with pytest.raises(ValueError, match="max_failed_rounds"):
        FedVideoStrategy(num_rounds=1, max_failed_rounds=-1)
