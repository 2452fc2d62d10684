"""Resuming a run from its last checkpoint ends with the uninterrupted run's model.

Fast tests of the pieces: finding the run, errors, results, strategy state and
round numbers through Flower's ``start`` on an in-process grid. The end-to-end
test through ``flwr run``, ``flwr stop`` and ``resume=true`` is in
tests/e2e/test_resume_run.py.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid

from fedvideo.config import ConfigError, FederationConfig, default_run_config
from fedvideo.fl.checkpoint import read_round_checkpoint, save_round_checkpoint
from fedvideo.fl.flower_compat import task_identity_class
from fedvideo.fl.results import RunRecorder, find_resumable_run
from fedvideo.fl.resume import (
    read_resume_checkpoint,
    restore_server_state,
    resume_checkpoint_path,
    start_point,
)
from fedvideo.fl.task import PlotSpec
from fedvideo.strategies.rounds import ResumedRounds
from fedvideo.strategy import STRATEGIES, build_strategy
from fedvideo.tasks import build_task, federation_config

PLOT = PlotSpec("t", "y", (("psnr", "model"),))


def _config(**overrides) -> tuple[dict, FederationConfig]:
    config = default_run_config({k.replace("_", "-"): v for k, v in overrides.items()})
    return config, federation_config(config)


def _run_dir(base: Path, name: str, checkpoint_round: int | None = None) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    if checkpoint_round is not None:
        save_round_checkpoint(
            folder / "checkpoint.pt", checkpoint_round, {"w": torch.zeros(2)}
        )
    return folder


# --- finding the checkpoint to resume from ----------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("resume", "true", "'resume': expected bool, got str"),
        ("resume-from", False, "'resume-from': expected str, got bool"),
    ],
)
def test_resume_keys_are_validated(key, value, message):
    with pytest.raises(ConfigError, match=message):
        _config(**{key: value})


def test_resume_keys_default_to_a_fresh_run():
    _, federation = _config()
    assert federation.resume is False and federation.resume_from == ""


def test_find_resumable_run_takes_the_latest_checkpoint_of_the_label(tmp_path):
    older = _run_dir(tmp_path, "2026-01-02_10-00-00_vsr_fedvsr", 2)
    newer = _run_dir(tmp_path, "2026-01-01_10-00-00_vsr_fedvsr_2", 1)
    os.utime(older / "checkpoint.pt", ns=(10**18, 10**18))
    os.utime(newer / "checkpoint.pt", ns=(2 * 10**18, 2 * 10**18))
    _run_dir(tmp_path, "2026-01-03_10-00-00_vsr_fedvsr")  # no checkpoint
    other = _run_dir(tmp_path, "2026-01-04_10-00-00_vsr_fedavg", 1)
    os.utime(other / "checkpoint.pt", ns=(3 * 10**18, 3 * 10**18))
    _run_dir(tmp_path, "2026-01-05_10-00-00_vsr_fedvsr_x", 1)  # not a run name
    assert find_resumable_run(tmp_path, "vsr_fedvsr") == newer
    assert find_resumable_run(tmp_path, "vsr_fedavg") == other
    assert find_resumable_run(tmp_path, "ssl_fedvsr") is None
    assert find_resumable_run(tmp_path / "missing", "vsr_fedvsr") is None


def test_resume_checkpoint_path(tmp_path):
    run = _run_dir(tmp_path, "2026-01-02_10-00-00_vsr_fedvsr", 1)
    _, fresh = _config(output_dir=str(tmp_path))
    assert resume_checkpoint_path(fresh, "vsr_fedvsr") is None
    _, resume = _config(output_dir=str(tmp_path), resume=True)
    assert resume_checkpoint_path(resume, "vsr_fedvsr") == run / "checkpoint.pt"
    with pytest.raises(ConfigError, match="'resume': no run folder of 'vsr_fedavg'"):
        resume_checkpoint_path(resume, "vsr_fedavg")

    # resume-from: a file or a run folder, and it wins over resume
    bare = tmp_path / "elsewhere.pt"
    save_round_checkpoint(bare, 1, {"w": torch.zeros(2)})
    for given, expected in ((bare, bare), (run, run / "checkpoint.pt")):
        _, explicit = _config(resume=True, resume_from=str(given))
        assert resume_checkpoint_path(explicit, "vsr_fedavg") == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.pt", "'resume-from': '.*missing.pt' does not exist"),
        ("empty-folder", "'resume-from': folder '.*empty-folder' holds no checkpoint"),
    ],
)
def test_resume_from_must_name_a_checkpoint(tmp_path, name, message):
    (tmp_path / "empty-folder").mkdir()
    _, federation = _config(resume_from=str(tmp_path / name))
    with pytest.raises(ConfigError, match=message):
        resume_checkpoint_path(federation, "vsr_fedvsr")


# --- checking the checkpoint against the run ---------------------------------

REFERENCE = {"conv.weight": torch.zeros(4, 3), "conv.bias": torch.zeros(4)}


def _checkpoint(tmp_path: Path, server_round: int, model: dict) -> Path:
    path = tmp_path / "checkpoint.pt"
    save_round_checkpoint(path, server_round, model)
    return path


def test_read_resume_checkpoint_accepts_a_fitting_checkpoint(tmp_path):
    path = _checkpoint(tmp_path, 3, REFERENCE)
    _, federation = _config(num_server_rounds=3, resume=True)
    checkpoint = read_resume_checkpoint(path, federation, REFERENCE)
    assert checkpoint.server_round == 3  # the last round: the run just finishes
    assert set(checkpoint.model) == set(REFERENCE)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"conv.weight": torch.zeros(4, 3)}, r"missing: conv\.bias"),
        ({**REFERENCE, "extra": torch.zeros(1)}, "unexpected: extra"),
        (
            {**REFERENCE, "conv.weight": torch.zeros(8, 3)},
            r"shape: conv\.weight \(8, 3\) instead of \(4, 3\)",
        ),
    ],
)
def test_read_resume_checkpoint_rejects_another_model(tmp_path, model, message):
    path = _checkpoint(tmp_path, 1, model)
    _, federation = _config(resume_from=str(path))
    with pytest.raises(ConfigError, match=f"'resume-from': the model in {path}.*"):
        read_resume_checkpoint(path, federation, REFERENCE)
    with pytest.raises(ConfigError, match=message):
        read_resume_checkpoint(path, federation, REFERENCE)


def test_read_resume_checkpoint_rejects_a_round_beyond_the_run(tmp_path):
    path = _checkpoint(tmp_path, 4, REFERENCE)
    _, federation = _config(num_server_rounds=3, resume=True)
    with pytest.raises(ConfigError, match=f"'num-server-rounds': 3, but {path}"):
        read_resume_checkpoint(path, federation, REFERENCE)


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_read_resume_checkpoint_rejects_other_files(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    if content is None:
        torch.save({"weights": torch.zeros(1)}, path)  # a torch file, no round
    else:
        path.write_bytes(content)
    _, federation = _config(resume=True)
    with pytest.raises(ConfigError, match=f"'resume': cannot read checkpoint {path}"):
        read_resume_checkpoint(path, federation, REFERENCE)


# --- results of a resumed run ---------------------------------------------------


def test_continue_run_keeps_the_rounds_up_to_the_checkpoint(tmp_path):
    config, _ = _config()
    recorder = RunRecorder(tmp_path, config, PLOT)
    for server_round in range(4):
        recorder.record_round({"round": server_round, "evaluation": {}})
    recorder.finish("failed", error="KeyboardInterrupt")

    changed = {**config, "resume": True, "round-timeout": 60.0}
    resumed = RunRecorder.continue_run(
        tmp_path, changed, PLOT, 2, tmp_path / "checkpoint.pt"
    )
    resumed.record_round({"round": 3, "evaluation": {}})
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["round"] for r in data["rounds"]] == [0, 1, 2, 3]
    assert data["status"] == "running" and "error" not in data
    assert data["config"] == config
    (entry,) = data["resumed"]
    assert entry["from_round"] == 2
    assert entry["checkpoint"] == str(tmp_path / "checkpoint.pt")
    assert entry["discarded_rounds"] == [3]
    assert entry["config_changes"] == {
        "round-timeout": {"before": config["round-timeout"], "after": 60.0}
    }

    RunRecorder.continue_run(tmp_path, changed, PLOT, 3, tmp_path / "checkpoint.pt")
    data = json.loads((tmp_path / "results.json").read_text())
    assert [e["from_round"] for e in data["resumed"]] == [2, 3]
    assert [r["round"] for r in data["rounds"]] == [0, 1, 2, 3]


def test_continue_run_in_a_new_folder_starts_empty(tmp_path):
    config, _ = _config()
    RunRecorder.continue_run(tmp_path, config, PLOT, 5, Path("/x/checkpoint.pt"))
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["rounds"] == [] and data["config"] == config
    assert data["resumed"][0]["from_round"] == 5


# --- the server's start point -------------------------------------------------


def _vsr(tmp_path: Path, **overrides):
    config, federation = _config(output_dir=str(tmp_path), **overrides)
    task = build_task(config, federation)
    model = task.initial_model()
    return config, federation, task, model, build_strategy(federation, config)


def test_start_point_resumes_in_the_run_folder(tmp_path, one_thread):
    config, federation, task, model, strategy = _vsr(tmp_path)
    fresh = start_point(config, federation, task, model, strategy)
    assert fresh.first_round == 1 and fresh.run_dir.parent == tmp_path
    for server_round in range(3):
        fresh.recorder.record_round({"round": server_round, "evaluation": {}})
    state = {k: v + 1 for k, v in task.global_state(model).items()}
    save_round_checkpoint(fresh.run_dir / "checkpoint.pt", 1, state)

    config, federation, task, model, strategy = _vsr(tmp_path, resume=True)
    resumed = start_point(config, federation, task, model, strategy)
    assert resumed.run_dir == fresh.run_dir
    assert resumed.first_round == 2
    for key, value in resumed.arrays.to_torch_state_dict().items():
        assert torch.equal(value, state[key])
    assert [r["round"] for r in resumed.recorder.data["rounds"]] == [0, 1]


def test_start_point_refuses_a_run_of_another_strategy(tmp_path, one_thread):
    config, federation, task, model, strategy = _vsr(tmp_path, strategy="fedavg")
    fresh = start_point(config, federation, task, model, strategy)
    save_round_checkpoint(fresh.run_dir / "checkpoint.pt", 1, task.global_state(model))
    config, federation, task, model, strategy = _vsr(
        tmp_path, strategy="fedvsr", resume_from=str(fresh.run_dir)
    )
    with pytest.raises(ConfigError, match="task 'vsr' with strategy 'fedavg', not"):
        start_point(config, federation, task, model, strategy)


def test_restore_rejects_state_of_another_strategy(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_round_checkpoint(path, 1, {}, {"previous_global": {"w": torch.zeros(1)}})
    config, federation = _config(strategy="fedvsr", resume_from=str(path))
    with pytest.raises(ConfigError, match="strategy state in .* does not fit"):
        restore_server_state(
            read_round_checkpoint(path), build_strategy(federation, config), federation
        )


# --- strategies through Flower's start: state and round numbers -------------


class FakeClients(Grid):
    """Four deterministic in-process clients answering training messages.

    Client ``i`` moves the global ``w`` to ``w / 2 + (i + 1) * round / 10`` and
    reports a loss that depends on ``i`` and the round. ``crash_in_round``
    raises, as a crash of the server in the middle of that round would.
    """

    def __init__(self, reply_factory, crash_in_round: int | None = None) -> None:
        self.reply_factory = reply_factory
        self.crash_in_round = crash_in_round
        self.node_ids = [101, 102, 103, 104]
        self.trained: list[tuple[int, int]] = []  # (round, node)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.node_ids)

    def _reply(self, message: Message) -> Message:
        server_round = int(message.content["config"]["server-round"])
        if server_round == self.crash_in_round:
            raise KeyboardInterrupt("crashed")
        node = message.metadata.dst_node_id
        self.trained.append((server_round, node))
        part = self.node_ids.index(node)
        w = message.content["arrays"]["w"].numpy()
        new = (w / 2 + (part + 1) * server_round / 10).astype(np.float32)
        metrics = {
            "train_loss": 0.1 + 0.05 * part + 0.02 * server_round,
            "num-examples": 10 + part,
            "partition_id": part,
        }
        content = RecordDict(
            {
                "arrays": ArrayRecord({"w": Array(new)}),
                "metrics": MetricRecord(metrics),
            }
        )
        return self.reply_factory(node, content)

    def send_and_receive(self, messages, *, timeout=None) -> Iterable[Message]:
        return [self._reply(m) for m in messages]

    # Not used by Strategy.start.
    def set_run(self, run):  # pragma: no cover
        raise NotImplementedError

    @property
    def run(self):  # pragma: no cover
        raise NotImplementedError

    def create_message(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError

    def push_messages(self, messages):  # pragma: no cover
        raise NotImplementedError

    def pull_messages(self, message_ids):  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def as_server(monkeypatch):
    """The task identity a ServerApp process has, so that it can build messages."""
    for name, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(task_identity_class(), name, value)


def _checkpointing(path: Path, strategy, rounds: list[int]):
    """An evaluate_fn that checkpoints like AfterRound and notes the rounds."""

    def evaluate_fn(server_round: int, arrays: ArrayRecord) -> None:
        rounds.append(server_round)
        if server_round > 0:
            save_round_checkpoint(
                path,
                server_round,
                arrays.to_torch_state_dict(),
                strategy.state_dict(),
                python_rng=random.getstate(),
            )

    return evaluate_fn


def _start(strategy, grid, path, rounds, first_round=1):
    initial = ArrayRecord({"w": Array(np.ones((2, 2), np.float32))})
    if first_round > 1:
        initial = ArrayRecord(read_round_checkpoint(path).model)
    return strategy.start(
        grid,
        initial,
        num_rounds=4,
        evaluate_fn=_checkpointing(path, strategy, rounds),
        first_round=first_round,
    )


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_interrupted_and_resumed_strategy_matches_uninterrupted(
    tmp_path, reply_factory, as_server, name
):
    """Half of the 4 clients train each round (sampled with Python's random)."""
    config, federation = _config(
        strategy=name, num_server_rounds=4, fraction_train=0.5, min_train_nodes=2
    )
    random.seed(0)
    whole = _start(
        build_strategy(federation, config),
        uninterrupted := FakeClients(reply_factory),
        tmp_path / "whole.pt",
        [],
    )

    path = tmp_path / "checkpoint.pt"
    random.seed(0)
    with pytest.raises(KeyboardInterrupt):
        _start(
            build_strategy(federation, config),
            FakeClients(reply_factory, crash_in_round=3),
            path,
            [],
        )
    checkpoint = read_round_checkpoint(path)
    assert checkpoint.server_round == 2

    random.seed(999)  # a new process: another random state
    strategy = build_strategy(federation, config)
    restore_server_state(checkpoint, strategy, federation)
    evaluated: list[int] = []
    grid = FakeClients(reply_factory)
    resumed = _start(strategy, grid, path, evaluated, first_round=3)

    assert evaluated == [3, 4]  # no round-0 evaluation, no repeated rounds
    assert grid.trained == [t for t in uninterrupted.trained if t[0] >= 3]
    assert sorted(resumed.train_metrics_clientapp) == [3, 4]
    np.testing.assert_array_equal(
        resumed.arrays["w"].numpy(), whole.arrays["w"].numpy()
    )


def test_swa_state_matters_for_the_resumed_model(tmp_path, reply_factory, as_server):
    """Without the checkpointed SWA state the resumed model would differ."""
    config, federation = _config(strategy="swa-mixed", num_server_rounds=4)
    path = tmp_path / "checkpoint.pt"
    random.seed(0)
    strategy = build_strategy(federation, config)
    whole = _start(strategy, FakeClients(reply_factory), path, [])
    with pytest.raises(KeyboardInterrupt):
        _start(
            build_strategy(federation, config),
            FakeClients(reply_factory, crash_in_round=3),
            path,
            [],
        )
    stateless = build_strategy(federation, config)  # state not restored
    resumed = _start(stateless, FakeClients(reply_factory), path, [], first_round=3)
    assert not np.array_equal(resumed.arrays["w"].numpy(), whole.arrays["w"].numpy())


def test_resumed_rounds_needs_a_positive_first_round():
    config, federation = _config()
    with pytest.raises(ValueError, match="first_round must be >= 1"):
        ResumedRounds(build_strategy(federation, config), 0)


@pytest.mark.parametrize("content", ["{truncated", "[1, 2]"])
def test_start_point_refuses_an_unreadable_results_file(tmp_path, one_thread, content):
    config, federation, task, model, strategy = _vsr(tmp_path)
    fresh = start_point(config, federation, task, model, strategy)
    fresh.recorder.record_round({"round": 0, "evaluation": {}})
    save_round_checkpoint(fresh.run_dir / "checkpoint.pt", 1, task.global_state(model))
    (fresh.run_dir / "results.json").write_text(content)

    config, federation, task, model, strategy = _vsr(tmp_path, resume=True)
    with pytest.raises(
        ConfigError, match="cannot read .*results.json.*resume-new-folder"
    ):
        start_point(config, federation, task, model, strategy)

    config, federation, task, model, strategy = _vsr(
        tmp_path, resume=True, resume_new_folder=True
    )
    resumed = start_point(config, federation, task, model, strategy)
    assert resumed.run_dir != fresh.run_dir and resumed.first_round == 2
    assert (fresh.run_dir / "results.json").read_text() == content  # left alone


def test_start_point_records_the_strategy_a_task_chose(tmp_path, one_thread):
    config, federation, task, model, strategy = _vsr(tmp_path, strategy="")
    assert federation.strategy == "fedvsr"
    fresh = start_point(config, federation, task, model, strategy)
    assert fresh.recorder.data["config"]["strategy"] == "fedvsr"
    assert fresh.run_dir.name.endswith("_vsr_fedvsr")
