"""The VSR task through the Task interface, on a tiny synthetic dataset."""

import json
import math

import pytest
import torch
from flwr.app import ArrayRecord, RecordDict

from fedvideo.after_round import AfterRound
from fedvideo.checkpoint import load_round_checkpoint
from fedvideo.config import FederationConfig, default_run_config, parse_section
from fedvideo.data.errors import DatasetError
from fedvideo.data.synthetic_vsr import write_synthetic_reds
from fedvideo.results import RunRecorder
from fedvideo.strategies import build_strategy
from fedvideo.tasks import ClientInfo, RoundInfo, build_task
from fedvideo.tasks.vsr import bicubic_upsample

CPU = torch.device("cpu")
TINY = {
    "synthetic.train-videos": 4,
    "synthetic.test-videos": 1,
    "synthetic.frames": 4,
    "synthetic.height": 32,
    "synthetic.width": 32,
    "vsr.gt-crop": 32,
    "vsr.num-frames": 4,
    "vsr.batch-size": 2,
    "local-steps": 2,
}


def _task(**overrides):
    config = default_run_config({**TINY, **overrides})
    federation = parse_section(config, FederationConfig)
    return build_task(config, federation), federation, config


def test_train_round_changes_model_and_reports_loss():
    task, _, _ = _task()
    model = task.build_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = task.train(model, ClientInfo(0, 2), RoundInfo(1, 3), CPU, RecordDict())
    assert math.isfinite(result.train_loss) and result.train_loss > 0
    assert result.num_examples == 2 * 4  # 2 videos x samples-per-video
    assert result.metrics["steps"] == 2
    assert result.metrics["loss_hifr"] > 0
    changed = [
        k for k, v in model.state_dict().items() if not torch.equal(v, before[k])
    ]
    assert changed


def test_build_model_is_identical_across_processes_by_seed():
    task, _, _ = _task()
    a, b = task.build_model().state_dict(), task.build_model().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_global_reports_model_and_bicubic():
    task, _, _ = _task()
    metrics = task.evaluate_global(task.build_model(), CPU)
    assert set(metrics) == {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic"}
    assert 10 < metrics["psnr_bicubic"] < 50


def test_bicubic_upsample_shape_and_range():
    lr = torch.rand(2, 3, 3, 5, 6)
    up = bicubic_upsample(lr, 4)
    assert up.shape == (2, 3, 3, 20, 24)
    assert up.min() >= 0 and up.max() <= 1


def test_missing_dataset_folder_named(tmp_path):
    missing = tmp_path / "nope"
    task, _, _ = _task(**{"vsr.dataset": str(missing)})
    with pytest.raises(DatasetError, match="nope"):
        task.train(
            task.build_model(), ClientInfo(0, 1), RoundInfo(1, 1), CPU, RecordDict()
        )


def test_partition_id_out_of_range():
    with pytest.raises(ValueError, match="partition-id 3 out of range"):
        ClientInfo.from_node_config({"partition-id": 3, "num-partitions": 2})
    with pytest.raises(ValueError, match="--node-config"):
        ClientInfo.from_node_config({})


def test_trains_on_reds_layout_folder(tmp_path):
    root = tmp_path / "REDS"
    write_synthetic_reds(root, seed=1, num_videos=2, num_frames=4, height=32, width=32)
    task, _, _ = _task(**{"vsr.dataset": str(root)})
    result = task.train(task.build_model(), ClientInfo(0, 1), RoundInfo(1, 1), CPU, {})
    assert math.isfinite(result.train_loss)
    metrics = task.evaluate_global(task.build_model(), CPU)  # REDS4 clips
    assert metrics["psnr_bicubic"] > 10


def test_after_round_checkpoints_and_records(tmp_path):
    task, federation, config = _task(**{"eval-every": 2, "num-server-rounds": 3})
    strategy = build_strategy(federation, config)
    model = task.build_model()
    recorder = RunRecorder(tmp_path, config, task.plot)
    after = AfterRound(task, model, CPU, federation, strategy, recorder)
    arrays = ArrayRecord(model.state_dict())
    assert after(0, arrays) is not None  # round 0 is always evaluated
    assert after(1, arrays) is None  # not due
    assert after(2, arrays) is not None
    server_round, state, _ = load_round_checkpoint(tmp_path / "checkpoint.pt")
    assert server_round == 2 and set(state) == set(model.state_dict())
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    assert results["rounds"][1]["evaluation"] == {}
    assert (tmp_path / "metrics.png").stat().st_size > 0
    recorder.finish("completed")
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "completed"
