"""The run's results file: one final status, no round after it, heartbeat."""

import json
import os
import time

import pytest

from fedvideo.fl.results import (
    HEARTBEAT_NAME,
    STALE_AFTER_SECONDS,
    RunRecorder,
    plot_losses,
    run_status,
    time_breakdown,
)
from fedvideo.fl.task import PlotSpec

PLOT = PlotSpec(series=(("psnr", "PSNR"),), ylabel="dB", title="t")


def _read(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def test_only_the_first_final_status_counts_and_no_round_follows_it(tmp_path):
    recorder = RunRecorder(tmp_path, {"task": "vsr"}, PLOT)
    assert recorder.record_round({"round": 0, "evaluation": {"psnr": 20.0}})
    assert recorder.finish("stopped", error="stopped by a signal")
    assert not recorder.record_round({"round": 1, "evaluation": {}})
    assert not recorder.finish("completed")
    recorder.update(client_errors=[{"client": "x"}])  # ignored once finished
    data = _read(tmp_path)
    assert data["status"] == "stopped" and "finished_at" in data
    assert [r["round"] for r in data["rounds"]] == [0]
    assert "client_errors" not in data


def test_finish_refuses_an_unknown_status(tmp_path):
    recorder = RunRecorder(tmp_path, {}, PLOT)
    with pytest.raises(ValueError, match="status must be one of"):
        recorder.finish("done")


def test_heartbeat_is_written_until_the_run_finishes(tmp_path):
    recorder = RunRecorder(tmp_path, {}, PLOT)
    recorder.start_heartbeat(every=0.05)
    deadline = time.monotonic() + 10
    while not (tmp_path / HEARTBEAT_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (tmp_path / HEARTBEAT_NAME).exists()
    recorder.finish("completed")
    assert run_status(tmp_path, _read(tmp_path)) == "completed"


def test_a_running_run_with_a_stale_heartbeat_is_interrupted(tmp_path):
    RunRecorder(tmp_path, {}, PLOT)
    data = _read(tmp_path)
    assert run_status(tmp_path, data) == "running"
    later = time.time() + STALE_AFTER_SECONDS + 1
    assert run_status(tmp_path, data, now=later) == "interrupted"
    beat = tmp_path / HEARTBEAT_NAME
    beat.write_text("now\n")
    os.utime(beat, (later, later))
    assert run_status(tmp_path, data, now=later) == "running"
    assert run_status(tmp_path / "gone", data) == "interrupted"


def test_loss_plot_shows_the_training_loss_and_its_references(tmp_path):
    spec = PlotSpec(
        series=(("R@1", "R@1"),),
        ylabel="%",
        title="t",
        loss_references=(("no_motion", "predicting no motion"),),
    )
    assert not plot_losses([{"round": 0, "train_loss": None}], spec, tmp_path / "a.png")
    assert not (tmp_path / "a.png").exists()
    recorder = RunRecorder(tmp_path, {}, spec)
    recorder.record_round({"round": 0, "train_loss": None, "evaluation": {}})
    assert not recorder.loss_plot_path.exists()
    for r in (1, 2):
        recorder.record_round(
            {
                "round": r,
                "train_loss": 5.0 - r,
                "train_parts": {"center": 3.0, "no_motion": 5.2},
                "evaluation": {},
            }
        )
    assert recorder.loss_plot_path.stat().st_size > 0
    assert _read(tmp_path)["rounds"][2]["train_parts"]["no_motion"] == 5.2


def test_time_breakdown_hand_computed():
    rounds = [
        {"round": 0, "round_seconds": 0.5, "eval_seconds": 2.0, "clients": []},
        {
            "round": 1,
            "round_seconds": 10.0,
            "eval_seconds": 0.0,
            "clients": [
                {"metrics": {"train_seconds": 6.0}},
                {"metrics": {"train_seconds": 8.0}},
            ],
        },
        {"round": 2, "round_seconds": 9.0, "eval_seconds": 1.5, "clients": [{}]},
    ]
    times = time_breakdown(
        rounds,
        startup_seconds=3.0,
        saving_seconds=1.0,
        final_seconds=0.5,
        total_seconds=30.0,
    )
    assert times == {
        "startup_seconds": 3.0,
        "rounds_seconds": 19.5,
        "client_train_seconds": 8.0,  # the slowest client of round 1; none in 2
        "evaluation_seconds": 4.0,
        "saving_seconds": 1.0,
        "total_seconds": 30.0,
        "other_seconds": 2.5,
    }
