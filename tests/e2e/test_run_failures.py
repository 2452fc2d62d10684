"""End to end: client data faults, ``flwr stop`` and unreadable results end honestly.

Through ``flwr run`` on a private SuperLink: a fault every client shares ends
the run as ``failed`` with the file or setting in results.json; a fault of one
client lets the run complete with that client in ``client_errors``; ``flwr
stop`` leaves ``stopped`` and no later round; resuming a run folder whose
results.json is unreadable is refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flwr_harness import flwr as flwr_cli
from flwr_harness import requires_superlink, run_status, submit, superlink
from vsr_layouts import make_reds, make_vid4

from fedvideo.config import default_run_config
from fedvideo.fl.checkpoint import save_round_checkpoint
from fedvideo.tasks import build_task, federation_config

pytestmark = [requires_superlink, pytest.mark.slow]

TINY = {
    "num-server-rounds": 2,
    "eval-every": 0,
    "local-steps": 2,
    "vsr.gt-crop": 32,
    "vsr.num-frames": 4,
    "vsr.batch-size": 2,
    "vsr.samples-per-video": 2,
    "vsr.warmup-fraction": 0.0,
    "vsr.frame-cache-mb": 0,
}
TINY_SYNTHETIC = {
    "synthetic.train-videos": 4,
    "synthetic.test-videos": 1,
    "synthetic.frames": 4,
    "synthetic.height": 32,
    "synthetic.width": 32,
}
TRAIN_CLIPS = ("000", "001", "002", "003", "004", "011")  # 000, 011: REDS4 (test)


@pytest.fixture(scope="module")
def link(tmp_path_factory):
    with superlink(tmp_path_factory.mktemp("link")) as running:
        yield running


def _toml(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"'{value}'" if isinstance(value, str) else str(value)


def _config(out_dir: Path, **settings) -> str:
    """The ``--run-config`` string of :data:`TINY` with ``settings``."""
    merged = {**TINY, "output-dir": str(out_dir), **settings}
    return " ".join(f"{key}={_toml(value)}" for key, value in merged.items())


def _run(link, out_dir: Path, **settings) -> tuple[str, dict, str]:
    """Run to the end; return Flower's status, results.json and the output."""
    run_id, output = submit(link.env, _config(out_dir, **settings))
    (results_file,) = out_dir.glob("*/results.json")
    return run_status(link.env, run_id), json.loads(results_file.read_text()), output


def _partition_file(tmp_path: Path, partitions: list[list[str]]) -> Path:
    path = tmp_path / "partition.json"
    path.write_text(json.dumps({"partitions": partitions}))
    return path


def test_a_partition_file_for_three_clients_used_with_two_fails(link, tmp_path):
    reds = make_reds(tmp_path / "reds", TRAIN_CLIPS)
    partition = _partition_file(tmp_path, [["001"], ["002"], ["003", "004"]])
    status, results, output = _run(
        link,
        tmp_path / "out",
        **{"vsr.dataset": str(reds), "vsr.partitioning": str(partition)},
    )
    assert status == "finished:failed", output[-3000:]
    assert results["status"] == "failed"
    assert "every client (2) failed with the same data" in results["error"]
    assert f"partition file {partition}, which has 3 partitions" in results["error"]
    assert [r["round"] for r in results["rounds"]] == [0]  # stopped in round 1
    assert {row["client"] for row in results["client_errors"]} == {
        "partition 0 of 2",
        "partition 1 of 2",
    }


def test_a_vid4_folder_as_training_data_fails_naming_the_setting(link, tmp_path):
    vid4 = make_vid4(tmp_path / "vid4")
    status, results, output = _run(link, tmp_path / "out", **{"vsr.dataset": str(vid4)})
    assert status == "finished:failed", output[-3000:]
    assert results["status"] == "failed"
    assert "run config 'vsr.dataset'" in results["error"]
    assert "has no training videos" in results["error"]


def test_unknown_clips_in_every_partition_fail_listing_each_client(link, tmp_path):
    reds = make_reds(tmp_path / "reds", TRAIN_CLIPS)
    partition = _partition_file(tmp_path, [["001", "lost-a"], ["lost-b"]])
    status, results, output = _run(
        link,
        tmp_path / "out",
        **{"vsr.dataset": str(reds), "vsr.partitioning": str(partition)},
    )
    assert status == "finished:failed", output[-3000:]
    assert "partition 0 of 2: DatasetError: partition file" in results["error"]
    assert "'lost-a'" in results["error"] and "'lost-b'" in results["error"]


def test_a_corrupt_later_frame_of_one_client_is_named_and_the_run_completes(
    link, tmp_path
):
    reds = make_reds(tmp_path / "reds", TRAIN_CLIPS)
    frame = reds / "train_sharp" / "004" / "00000003.png"  # client 1: 003, 004
    frame.write_bytes(b"\x89PNG\r\n\x1a\n corrupt")
    status, results, output = _run(link, tmp_path / "out", **{"vsr.dataset": str(reds)})
    assert status == "finished:completed", output[-3000:]
    assert results["status"] == "completed"
    (row,) = results["client_errors"]
    assert row["client"] == "partition 1 of 2"
    assert row["every_round"] and row["failed_rounds"] == 2 and row["input_error"]
    assert str(frame) in row["last_error"]
    assert all(len(r["clients"]) == 1 for r in results["rounds"][1:])


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.1)
    return value


def _results(out_dir: Path) -> dict:
    files = list(out_dir.glob("*/results.json"))
    if not files:
        return {}
    try:
        return json.loads(files[0].read_text())
    except ValueError:
        return {}  # caught between two writes


def test_flwr_stop_leaves_stopped_and_no_later_round(link, tmp_path):
    out_dir = tmp_path / "out"
    settings = {**TINY_SYNTHETIC, "num-server-rounds": 500, "local-steps": 1}
    run_id, _ = submit(link.env, _config(out_dir, **settings), stream=False)
    _wait_for(lambda: len(_results(out_dir).get("rounds", [])) >= 3, 300, "round 2")
    flwr_cli(link.env, "stop", run_id)
    _wait_for(
        lambda: run_status(link.env, run_id).startswith("finished"), 120, "the stop"
    )
    assert run_status(link.env, run_id) == "finished:stopped"
    results = _wait_for(
        lambda: (r := _results(out_dir)).get("status") == "stopped" and r,
        60,
        "results.json 'stopped'",
    )
    time.sleep(3)
    after = _results(out_dir)
    assert after["status"] == "stopped"
    assert len(after["rounds"]) == len(results["rounds"]) < 500


def test_resume_with_an_unreadable_results_file_is_refused(link, tmp_path):
    # A run folder as an interrupted run leaves it: a checkpoint of round 1 of
    # this task's model, and a results.json cut short.
    settings = {**TINY, **TINY_SYNTHETIC}
    task = build_task(
        default_run_config(settings), federation_config(default_run_config(settings))
    )
    run_dir = tmp_path / "out" / "2026-01-01_00-00-00_vsr_fedvsr"
    run_dir.mkdir(parents=True)
    save_round_checkpoint(
        run_dir / "checkpoint.pt", 1, task.global_state(task.initial_model())
    )
    results_file = run_dir / "results.json"
    results_file.write_text('{"rounds": [')
    run_id, output = submit(
        link.env,
        _config(tmp_path / "out", **{"resume-from": str(run_dir)}, **TINY_SYNTHETIC),
    )
    assert run_status(link.env, run_id) == "finished:failed"
    assert f"cannot read {results_file}" in output
    assert "resume-new-folder" in output
    assert results_file.read_text() == '{"rounds": ['
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [run_dir.name]
