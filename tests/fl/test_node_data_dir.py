"""A SuperNode's own data folder: the node config's ``data-dir``."""

from __future__ import annotations

import pytest
import torch
from flwr.app import RecordDict
from tiny_tasks import tiny_task
from vsr_layouts import make_reds, make_vid4

import dataset_preparation as cli
from fedvideo.data.errors import DatasetError
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import local_round
from fedvideo.tasks.ssl.data.synthetic import write_synthetic_action_dataset

CPU = torch.device("cpu")


def _local(folder, partition_id: int = 0, num_partitions: int = 1) -> ClientInfo:
    return ClientInfo(partition_id, num_partitions, data_dir=str(folder))


# --------------------------------------------------------------- node config
def test_data_dir_alone_is_a_whole_local_dataset(tmp_path):
    client = ClientInfo.from_node_config({"data-dir": str(tmp_path)})
    assert client == ClientInfo(0, 1, data_dir=str(tmp_path))
    named = ClientInfo.from_node_config(
        {"data-dir": str(tmp_path), "partition-id": 2, "num-partitions": 3}
    )
    assert (named.partition_id, named.num_partitions) == (2, 3)
    assert named.data_dir == str(tmp_path)


def test_partitions_without_data_dir_are_unchanged():
    client = ClientInfo.from_node_config({"partition-id": 1, "num-partitions": 2})
    assert client == ClientInfo(1, 2) and client.data_dir is None
    empty = ClientInfo.from_node_config(
        {"data-dir": "", "partition-id": 0, "num-partitions": 1}
    )
    assert empty.data_dir is None
    with pytest.raises(ValueError, match="data-dir='/path/to/data'"):
        ClientInfo.from_node_config({"data-dir": ""})


def test_missing_data_dir_names_the_key_and_the_path(tmp_path):
    missing = tmp_path / "not-there"
    with pytest.raises(ValueError, match="'data-dir'") as err:
        ClientInfo.from_node_config({"data-dir": str(missing), "partition-id": 0})
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is not a folder") as err:
        ClientInfo.from_node_config({"data-dir": str(a_file)})
    assert str(a_file) in str(err.value)

    with pytest.raises(ValueError, match="'data-dir' must be a quoted path"):
        ClientInfo.from_node_config({"data-dir": 3})

    with pytest.raises(ValueError, match="partition-id 1 out of range"):
        ClientInfo.from_node_config({"data-dir": str(tmp_path), "partition-id": 1})


# ---------------------------------------------------------------------- vsr
def test_vsr_trains_on_the_local_folder_instead_of_a_partition(tmp_path):
    root = make_reds(tmp_path / "site-a", ("000", "001", "002"))
    task = tiny_task()[0]  # the run config's dataset stays synthetic
    client = _local(root, partition_id=1, num_partitions=2)
    assert [v.name for v in task.client_data(client)] == ["001", "002"]  # no REDS4
    result = local_round(
        task, task.build_model(), client, RoundInfo(1, 2), CPU, RecordDict()
    )
    assert result.num_examples == 2 * 4  # 2 local clips x samples-per-video
    assert result.train_loss > 0 and result.metrics["steps"] == 2
    scores = task.evaluate(task.build_model(), client, CPU)
    assert scores.num_examples == 2 and scores.metrics["psnr"] > 0
    # Without data-dir, the same partition id gets synthetic videos.
    assert task.client_data(ClientInfo(1, 2))[0].name != "001"


def test_vsr_local_folder_without_training_clips_is_named(tmp_path):
    task = tiny_task()[0]
    vid4 = make_vid4(tmp_path / "Vid4")
    with pytest.raises(DatasetError, match="'data-dir'.*no training clips") as err:
        task.client_data(_local(vid4))
    assert str(vid4) in str(err.value)

    junk = tmp_path / "junk"
    (junk / "something").mkdir(parents=True)
    with pytest.raises(DatasetError, match="'data-dir'.*unrecognised layout"):
        task.client_data(_local(junk))


# ---------------------------------------------------------------------- ssl
def test_ssl_takes_every_training_video_of_a_prepared_local_folder(tmp_path):
    root = write_synthetic_action_dataset(
        tmp_path / "prepared",
        seed=3,
        num_classes=2,
        train_per_class=2,
        test_per_class=1,
        frames=16,
        size=36,
    )
    task = tiny_task(task="ssl")[0]
    videos = task.client_data(_local(root, partition_id=1, num_partitions=2))
    assert len(videos) == 4 and {v.label for v in videos} == {0, 1}

    with pytest.raises(DatasetError, match="'data-dir'.*not a prepared") as err:
        task.client_data(_local(tmp_path))
    assert str(tmp_path) in str(err.value)


# --------------------------------------------------------------------- pose
def test_pose_uses_the_local_mpii_folder_at_the_clients_resolution(tmp_path):
    root = tmp_path / "mpii-site"
    argv = ["synthetic-pose", "--out", str(root), "--train-images", "3"]
    assert cli.main([*argv, "--test-images", "1", "--image-size", "64"]) == 0
    task = tiny_task(
        task="pose",
        **{
            "local-steps": 1,
            "pose.resolutions": "64x48,32x24",
            "pose.batch-size": 2,
            "synthetic-pose.train-images": 4,
            "synthetic-pose.test-images": 1,
            "synthetic-pose.image-size": 64,
        },
    )[0]
    client = _local(root, partition_id=1, num_partitions=2)
    part = task.client_partition(client)
    assert part.resolution == (32, 24) and part.samples == (0, 1, 2)
    assert len(task.client_records(client)) == 3
    result = local_round(
        task, task.build_model(), client, RoundInfo(1, 1), CPU, RecordDict()
    )
    assert result.num_examples == 3 and result.metrics["native_height"] == 32.0

    with pytest.raises(DatasetError, match="'data-dir'") as err:
        task.client_partition(_local(tmp_path / "prepared-nothing-here"))
    assert "prepared-nothing-here" in str(err.value)
