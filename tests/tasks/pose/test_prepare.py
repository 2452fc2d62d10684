"""End-to-end tests of ``dataset_preparation.py synthetic-pose`` and ``pose``."""

from __future__ import annotations

import json

import dataset_preparation as cli
from fedvideo.config import default_run_config
from fedvideo.fl.client_info import ClientInfo
from fedvideo.tasks import build_task, federation_config
from fedvideo.tasks.pose.data.mpii import load_mpii


def test_synthetic_pose_then_partition_then_task(tmp_path, capsys):
    root = tmp_path / "synthetic-pose"
    argv = ["synthetic-pose", "--out", str(root), "--train-images", "6"]
    assert cli.main([*argv, "--test-images", "2", "--image-size", "64"]) == 0
    assert len(load_mpii(root, "train")) == 6 and len(load_mpii(root, "valid")) == 2

    partition = tmp_path / "raf3.json"
    argv = ["pose", "--mpii", str(root), "--samples-per-client", "2"]
    argv += ["--client-resolutions", "64x48,48x32,32x24", "--out", str(partition)]
    assert cli.main(argv) == 0
    document = json.loads(partition.read_text())
    assert [c["resolution"] for c in document["clients"]] == [
        "64x48",
        "48x32",
        "32x24",
    ]
    assert all(len(c["samples"]) == 2 for c in document["clients"])
    assert "client 2: 32x24, 2 samples" in capsys.readouterr().out

    config = default_run_config(
        {
            "task": "pose",
            "pose.dataset": str(root),
            "pose.partitioning": str(partition),
            "pose.resolutions": "64x48,48x32,32x24",
        }
    )
    task = build_task(config, federation_config(config))
    part = task.client_partition(ClientInfo(1, 3))
    assert part.resolution == (48, 32) and len(part.samples) == 2


def test_pose_preparation_errors_name_the_problem(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert cli.main(["pose", "--mpii", str(missing), "--out", "x.json"]) == 2
    assert str(missing) in capsys.readouterr().err
    root = tmp_path / "small"
    argv = ["synthetic-pose", "--out", str(root), "--train-images", "2"]
    assert cli.main([*argv, "--test-images", "1", "--image-size", "64"]) == 0
    argv = ["pose", "--mpii", str(root), "--samples-per-client", "5"]
    assert cli.main([*argv, "--out", str(tmp_path / "p.json")]) == 2
    assert "need 15" in capsys.readouterr().err
    assert cli.main(["synthetic-pose", "--out", str(root)]) == 2  # not empty
