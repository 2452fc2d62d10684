"""The Flower baseline entry points: a run config's model and data by name."""

import pytest

from fedvideo.dataset import load_client_data, load_test_data
from fedvideo.model import build_model
from fedvideo.tasks.pose.models.vitpose import ViTPose
from fedvideo.tasks.ssl.models.ctp import CtPModel
from fedvideo.tasks.vsr.models.basicvsr import BasicVSR

SMALL_POSE = {
    "task": "pose",
    "synthetic-pose.train-images": 9,
    "synthetic-pose.test-images": 2,
    "synthetic-pose.image-size": 64,
}


def test_build_model_builds_the_run_configs_model():
    model = build_model()
    assert isinstance(model, BasicVSR)
    assert sum(p.numel() for p in model.parameters()) == 281549  # basicvsr-tiny
    assert isinstance(build_model({"task": "ssl"}), CtPModel)
    assert isinstance(build_model({"task": "pose"}), ViTPose)


def test_build_model_is_the_servers_seeded_starting_point():
    first, second = build_model().state_dict(), build_model().state_dict()
    assert first.keys() == second.keys()
    for name, tensor in first.items():
        assert tensor.equal(second[name]), name


def test_load_client_data_splits_the_training_videos():
    small = {"synthetic.train-videos": 6, "synthetic.test-videos": 2}
    parts = [load_client_data(i, 3, small) for i in range(3)]
    assert [len(part) for part in parts] == [2, 2, 2]
    names = [video.name for part in parts for video in part]
    assert len(set(names)) == 6
    assert len(load_test_data(small)) == 2


def test_load_client_data_of_pose_follows_the_resolution_partition():
    parts = [load_client_data(i, 3, SMALL_POSE) for i in range(3)]
    assert sum(len(part) for part in parts) == 9
    assert len(load_test_data(SMALL_POSE)) == 2


def test_load_client_data_rejects_a_partition_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        load_client_data(2, 2)
