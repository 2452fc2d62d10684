"""Input-error replies of clients and the once-per-process data check."""

import pytest

from fedvideo.config import ConfigError
from fedvideo.data.errors import DatasetError
from fedvideo.fl.client_errors import (
    check_once,
    input_error_reason,
    parse_input_error,
)


def test_reason_round_trips_client_and_message():
    reason = input_error_reason("partition 1 of 4", DatasetError("bad /x.png"))
    assert reason == "fedvideo input error [partition 1 of 4]: DatasetError: bad /x.png"
    parsed = parse_input_error(reason)
    assert parsed.client == "partition 1 of 4"
    assert parsed.message == "DatasetError: bad /x.png"


def test_other_reasons_are_no_input_errors():
    assert parse_input_error("<class 'ValueError'>:<'boom'>") is None
    assert parse_input_error("") is None


def test_check_once_keeps_the_verdict():
    calls = []

    def passing():
        calls.append("ok")

    check_once(("test-pass", 1), passing)
    check_once(("test-pass", 1), passing)
    assert calls == ["ok"]

    def failing():
        calls.append("bad")
        raise ConfigError("run config 'vsr.dataset': no training clips")

    for _ in range(3):
        with pytest.raises(ConfigError, match="vsr.dataset"):
            check_once(("test-fail", 1), failing)
    assert calls == ["ok", "bad"]


def test_check_once_does_not_keep_other_errors():
    calls = []

    def crashing():
        calls.append(1)
        raise RuntimeError("transient")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            check_once(("test-crash", 1), crashing)
    assert len(calls) == 2
