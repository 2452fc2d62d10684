"""End to end: a run interrupted after a round and resumed ends as the whole run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from flwr_harness import flwr as flwr_cli
from flwr_harness import (
    kill_simulations,
    requires_superlink,
    run_status,
    submit,
    superlink,
)

E2E_CONFIG = (
    "num-server-rounds=3 strategy='swa-mixed' local-steps=2 eval-every=0 "
    "synthetic.train-videos=8 synthetic.test-videos=2 synthetic.frames=8"
)


def _checkpoint_round(out_dir: Path) -> int:
    files = list(out_dir.glob("*/checkpoint.pt"))
    return torch.load(files[0], weights_only=True)["round"] if files else 0


def _interrupt_after_round_one(link, out_dir: Path) -> tuple[str, int]:
    """Start the run, crash it once it checkpointed a round, ``flwr stop`` it."""
    run_id, _ = submit(link.env, f"{E2E_CONFIG} output-dir='{out_dir}'", stream=False)
    deadline = time.monotonic() + 300
    while _checkpoint_round(out_dir) < 1:
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    # `flwr stop` takes effect at the simulation's next heartbeat (up to ~20 s
    # later, rounds going on meanwhile); kill it first, as a crash would.
    assert kill_simulations(link) >= 1
    flwr_cli(link.env, "stop", run_id)
    return run_id, _checkpoint_round(out_dir)


def _final_model(out_dir: Path) -> tuple[dict, dict]:
    (results_file,) = out_dir.glob("*/results.json")
    results = json.loads(results_file.read_text())
    model = torch.load(results_file.parent / "model.pt", weights_only=True)
    return results, model


@requires_superlink
@pytest.mark.slow
def test_interrupted_and_resumed_run_ends_with_the_uninterrupted_model(tmp_path):
    with superlink(tmp_path) as link:
        whole_dir = tmp_path / "uninterrupted"
        run_id, output = submit(link.env, f"{E2E_CONFIG} output-dir='{whole_dir}'")
        assert run_status(link.env, run_id) == "finished:completed", output[-4000:]

        out_dir = tmp_path / "interrupted"
        stopped_id, done = _interrupt_after_round_one(link, out_dir)
        assert run_status(link.env, stopped_id) == "finished:stopped"
        assert 1 <= done < 3

        run_id, output = submit(
            link.env, f"{E2E_CONFIG} output-dir='{out_dir}' resume=true"
        )
        assert run_status(link.env, run_id) == "finished:completed", output[-4000:]

    expected_results, expected = _final_model(whole_dir)
    results, model = _final_model(out_dir)  # one run folder: the same one
    assert results["status"] == "completed"
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2, 3]
    assert results["resumed"][0]["from_round"] == done
    assert results["rounds"][3]["aggregation"]["swa_mixed"] == 1.0
    times = results["time"]  # the resumed process's own time, every part >= 0
    assert min(times.values()) >= 0.0, times
    assert times["rounds_seconds"] <= times["total_seconds"]
    assert sorted(model) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(model[key], value), key
    losses = [r["train_loss"] for r in results["rounds"][1:]]
    assert losses == [r["train_loss"] for r in expected_results["rounds"][1:]]
