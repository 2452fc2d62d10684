"""The pose task: resolutions per client, MRKD copies, FedProx, the sweep."""

import json

import pytest
import torch
from flwr.app import RecordDict

from fedvideo.config import ConfigError, default_run_config
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import local_round
from fedvideo.strategies import FedProx
from fedvideo.tasks import build_task, federation_config
from fedvideo.tasks.pose.data.partition import (
    PoseClientPartition,
    write_pose_partition_file,
)

CPU = torch.device("cpu")
TINY = {
    "task": "pose",
    "local-steps": 2,
    "pose.resolutions": "64x48,48x32,32x24",
    "pose.sweep-resolutions": "32x24,80x64",
    "pose.batch-size": 2,
    "pose.drop-path": 0.0,
    "synthetic-pose.train-images": 6,
    "synthetic-pose.test-images": 3,
    "synthetic-pose.image-size": 64,
}


def _task(**overrides):
    config = default_run_config({**TINY, **overrides})
    return build_task(config, federation_config(config))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("pose.resolutions", "32x24,64x48", "highest to the lowest"),
        ("pose.resolutions", "64x48,oops", "pose.resolutions"),
        ("pose.client-resolutions", "100x100", "not in 'pose.resolutions'"),
        ("pose.sweep-resolutions", "64", "pose.sweep-resolutions"),
        ("pose.lr-milestones", "0.5,2", "pose.lr-milestones"),
        ("pose.positional", "learned", "pose.positional"),
    ],
)
def test_bad_settings_name_their_key(key, value, match):
    with pytest.raises(ConfigError, match=match):
        _task(**{key: value})


def test_clients_get_resolutions_in_turn_and_mrkd_cascades():
    task = _task()
    natives = [task.client_partition(ClientInfo(i, 3)).resolution for i in range(3)]
    assert natives == [(64, 48), (48, 32), (32, 24)]
    assert task.config.cascade((64, 48)) == ((64, 48), (48, 32), (32, 24))
    assert task.config.cascade((48, 32)) == ((48, 32), (32, 24))
    plain = _task(**{"pose.mrkd": False})
    assert plain.config.cascade((64, 48)) == ((64, 48),)
    samples = [set(task.client_partition(ClientInfo(i, 3)).samples) for i in range(3)]
    assert set.union(*samples) == set(range(6)) and sum(map(len, samples)) == 6


def test_partition_file_sets_resolution_and_samples(tmp_path):
    path = write_pose_partition_file(
        tmp_path / "p.json",
        [
            PoseClientPartition((32, 24), (0, 1)),
            PoseClientPartition((64, 48), (2, 3, 4)),
        ],
        "synthetic",
    )
    task = _task(**{"pose.partitioning": str(path)})
    part = task.client_partition(ClientInfo(1, 2))
    assert part.resolution == (64, 48) and part.samples == (2, 3, 4)
    with pytest.raises(ConfigError, match="2 clients"):
        task.client_partition(ClientInfo(0, 3))
    bad = write_pose_partition_file(
        tmp_path / "bad.json", [PoseClientPartition((64, 48), (0, 99))], "synthetic"
    )
    with pytest.raises(ConfigError, match="sample 99"):
        _task(**{"pose.partitioning": str(bad)}).client_partition(ClientInfo(0, 1))


def test_high_client_trains_on_three_copies_with_distillation():
    task = _task()
    model = task.build_model()
    result = local_round(
        task, model, ClientInfo(0, 3), RoundInfo(1, 2), CPU, RecordDict()
    )
    assert result.metrics["copies"] == 3.0 and result.metrics["native_height"] == 64
    assert result.metrics["loss_kd"] > 0 and result.train_loss > 0
    low = local_round(task, model, ClientInfo(2, 3), RoundInfo(1, 2), CPU, RecordDict())
    assert low.metrics["copies"] == 1.0 and low.metrics["loss_kd"] == 0.0


def test_fedprox_term_is_applied_by_the_pose_client():
    task = _task()
    model = task.build_model()
    round_info = RoundInfo(1, 2, config={"proximal-mu": 1.0})
    result = local_round(
        task,
        model,
        ClientInfo(1, 3),
        round_info,
        CPU,
        RecordDict(),
        FedProx.client_term,
    )
    assert result.metrics["loss_proximal"] > 0
    assert result.metrics["proximal_decoupled"] == 1.0  # AdamW: the decoupled pull
    assert result.metrics["update_norm"] > 0


def test_global_evaluation_and_resolution_sweep(tmp_path):
    task = _task()
    model = task.build_model()
    scores = task.evaluate_global(model, CPU)
    assert set(scores) == {
        f"PCKh@{t} {r}" for t in (0.5, 0.1) for r in ("64x48", "48x32", "32x24")
    }
    assert all(0.0 <= v <= 100.0 for v in scores.values())
    final = task.final_evaluation(model, CPU, tmp_path)
    assert set(final) == {
        f"sweep PCKh@{t} {r}" for t in (0.5, 0.1) for r in ("32x24", "80x64")
    }
    sweep = json.loads((tmp_path / "resolution_sweep.json").read_text())
    assert len(sweep["sweep"]["80x64"]["PCKh@0.5"]["per_joint"]) == 16
    assert sweep["seen_resolutions"] == ["64x48", "48x32", "32x24"]
    assert (tmp_path / "resolution_sweep.png").stat().st_size > 0


def test_client_evaluation_at_native_resolution():
    task = _task()
    result = task.evaluate(task.build_model(), ClientInfo(2, 3), CPU)
    assert result.num_examples == 3 and 0.0 <= result.metrics["PCKh@0.5"] <= 100.0


def test_pretrained_backbone_is_loaded_and_reported(tmp_path, caplog):
    source = _task(seed=7).build_model()
    backbone = {k: v for k, v in source.state_dict().items() if k.startswith("blocks.")}
    path = tmp_path / "vit.pth"
    torch.save({"model": backbone}, path)
    with caplog.at_level("INFO"):
        task = _task(**{"pose.pretrained": str(path)})
        model = task.initial_model()
    for key, value in backbone.items():
        assert torch.equal(model.state_dict()[key], value)
    assert f"loaded {len(backbone)}," in caplog.text
    # Clients do not read the file: they receive the global weights.
    plain = task.build_model().state_dict()
    assert not all(torch.equal(plain[k], v) for k, v in backbone.items())
