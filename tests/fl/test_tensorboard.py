"""TensorBoard logging of every round (tensorboard = true)."""

import sys

import pytest

from fedvideo.config import ConfigError
from fedvideo.fl.results import RunRecorder
from fedvideo.fl.task import PlotSpec
from fedvideo.fl.tensorboard import TensorBoardLog, round_scalars

PLOT = PlotSpec(series=(("psnr", "PSNR"),), ylabel="dB", title="t")


def _round(number, psnr):
    return {
        "round": number,
        "train_loss": 0.1 / (number + 1) if number else None,
        "train_parts": {"pixel": 0.05} if number else {},
        "clients": [{}, {}] if number else [],
        "dropped": [],
        "aggregation": {"hellinger": 0.2, "mix": 0.1, "note": "text"},
        "evaluation": {"psnr": psnr, "psnr smooth": psnr + 1},
        "round_seconds": 2.0,
        "eval_seconds": float("nan"),
    }


def test_round_scalars_take_every_number_and_skip_the_rest():
    scalars = round_scalars(_round(1, 22.0))
    assert scalars == {
        "train/loss": 0.05,
        "train/pixel": 0.05,
        "eval/psnr": 22.0,
        "eval/psnr smooth": 23.0,
        "aggregation/hellinger": 0.2,
        "aggregation/mix": 0.1,
        "replies/accepted": 2.0,
        "replies/dropped": 0.0,
        "time/round_seconds": 2.0,
    }
    assert "train/loss" not in round_scalars(_round(0, 21.0))


def test_a_run_with_tensorboard_writes_every_round(tmp_path):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    recorder = RunRecorder(tmp_path, {}, PLOT)
    log_dir = recorder.log_to_tensorboard()
    for number, psnr in enumerate((21.0, 21.5, 22.0)):
        recorder.record_round(_round(number, psnr))
    recorder.finish("completed")
    events = event_accumulator.EventAccumulator(str(log_dir))
    events.Reload()
    psnr = [(e.step, e.value) for e in events.Scalars("eval/psnr")]
    assert psnr == [(0, 21.0), (1, 21.5), (2, 22.0)]
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2]


def test_a_missing_package_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ConfigError, match="'tensorboard'.*pip install"):
        TensorBoardLog(tmp_path / "tb")
