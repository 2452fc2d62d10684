"""End-to-end tests of ``dataset_preparation.py ssl`` and ``synthetic-ssl``."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

import dataset_preparation as cli
from fedvideo.data.partition import read_partition
from fedvideo.tasks.ssl.data.action_datasets import load_prepared_action_dataset


def write_tiny_video(path: Path, shade: int) -> None:
    """Encode 6 frames of 24x40 pixels with PyAV (mpeg4)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=6)
        stream.width, stream.height, stream.pix_fmt = 40, 24, "yuv420p"
        for t in range(6):
            frame = np.full((24, 40, 3), shade, np.uint8)
            frame[:, 5 * t : 5 * t + 6] = 255
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory):
    """A fake UCF-101 tree: 3 real videos and 1 corrupt one."""
    root = tmp_path_factory.mktemp("raw") / "ucf101"
    videos = root / "UCF-101"
    write_tiny_video(videos / "Archery/v_Archery_g01_c01.avi", 40)
    write_tiny_video(videos / "Archery/v_Archery_g02_c01.avi", 80)
    write_tiny_video(videos / "Bowling/v_Bowling_g01_c01.avi", 120)
    corrupt = videos / "Bowling/v_Bowling_g02_c01.avi"
    corrupt.write_bytes(np.random.default_rng(1).bytes(3000))
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Archery\n2 Bowling\n")
    (lists / "trainlist01.txt").write_text(
        "Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n"
        "Bowling/v_Bowling_g02_c01.avi 2\n"
    )
    (lists / "testlist01.txt").write_text("Archery/v_Archery_g02_c01.avi\n")
    return root


def run_ucf(raw: Path, out: Path, *extra: str) -> dict:
    argv = ["ssl", "--dataset", "ucf101", "--raw-root", str(raw), "--out", str(out)]
    assert cli.main([*argv, "--short-side", "16", *extra]) == 0
    return json.loads((out / "prepare_summary.json").read_text())


def test_ssl_ucf101_skips_corrupt_video(ucf_root, tmp_path, capsys):
    out = tmp_path / "ucf101"
    summary = run_ucf(ucf_root, out, "--num-clients", "2", "--scheme", "iid-shuffled")
    captured = capsys.readouterr()
    assert "warning: skipping Bowling/v_Bowling_g02_c01" in captured.err
    assert "v_Bowling_g02_c01.avi" in captured.err
    assert summary["total"] == 4 and summary["decoded"] == 3
    assert summary["already_present"] == 0 and summary["missing"] == 0
    assert [entry["video"] for entry in summary["skipped"]] == [
        "Bowling/v_Bowling_g02_c01"
    ]
    assert "v_Bowling_g02_c01.avi" in summary["skipped"][0]["reason"]
    train = json.loads((out / "annotations" / "train.json").read_text())
    assert train == [
        {"name": "Archery/v_Archery_g01_c01", "label": 0},
        {"name": "Bowling/v_Bowling_g01_c01", "label": 1},
    ]
    dataset = load_prepared_action_dataset(out)
    assert dataset.classes == ["Archery", "Bowling"]
    assert [v.name for v in dataset.test] == ["Archery/v_Archery_g02_c01"]
    frames = dataset.train[1].read_frames([0, 5])
    assert frames.shape == (2, 16, 27, 3)
    assert dataset.train[1].num_frames == 6
    partition_file = out / "partitions" / "iid-shuffled_2.json"
    names = read_partition(partition_file, 0, 2) + read_partition(partition_file, 1, 2)
    assert sorted(names) == [entry["name"] for entry in train]
    # A second run resumes: decoded videos are kept, the corrupt one fails again.
    again = run_ucf(ucf_root, out)
    assert (again["decoded"], again["already_present"]) == (0, 3)
    assert len(again["skipped"]) == 1


def test_ssl_with_two_workers(ucf_root, tmp_path, capsys):
    summary = run_ucf(ucf_root, tmp_path / "ucf101", "--workers", "2")
    assert summary["decoded"] == 3 and len(summary["skipped"]) == 1
    assert "warning: skipping Bowling/v_Bowling_g02_c01" in capsys.readouterr().err


def test_ssl_kinetics_noniid_reports_missing(tmp_path, capsys):
    raw = tmp_path / "k400"
    rows = ["label,youtube_id,time_start,time_end,split,is_cc"]
    for k, (label, shade) in enumerate([("air drumming", 30), ("yoga", 200)] * 2):
        youtube_id = f"id{k}"
        rows.append(f"{label},{youtube_id},0,10,train,0")
        write_tiny_video(raw / "train" / f"{youtube_id}_000000_000010.mp4", shade)
    rows.append("yoga,gone,0,10,train,0")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "prepared"
    argv = ["ssl", "--dataset", "kinetics400", "--raw-root", str(raw)]
    argv += ["--annotations", str(tmp_path / "train.csv"), "--out", str(out)]
    argv += ["--num-clients", "2", "--scheme", "kinetics-noniid"]
    assert cli.main([*argv, "--classes-per-client", "2", "--short-side", "0"]) == 0
    summary = json.loads((out / "prepare_summary.json").read_text())
    assert summary["missing"] == 1 and summary["missing_videos"] == [
        "yoga/gone_000000_000010"
    ]
    assert summary["decoded"] == 4 and summary["skipped"] == []
    dataset = load_prepared_action_dataset(out)
    assert dataset.classes == ["air drumming", "yoga"]
    assert dataset.train[0].name == "air_drumming/id0_000000_000010"
    assert dataset.train[0].frame_size == (24, 40)
    assert dataset.test == []
    partition_file = out / "partitions" / "kinetics-noniid_2.json"
    for client in range(2):  # one half of each class per client
        names = read_partition(partition_file, client, 2)
        assert sorted(name.split("/")[0] for name in names) == ["air_drumming", "yoga"]


def test_ssl_errors(tmp_path, capsys):
    argv = ["ssl", "--dataset", "kinetics400", "--raw-root", str(tmp_path)]
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "--annotations" in capsys.readouterr().err
    argv = ["ssl", "--dataset", "ucf101", "--raw-root", str(tmp_path / "none")]
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "none" in capsys.readouterr().err


def test_synthetic_ssl_writes_prepared_layout(tmp_path, capsys):
    out = tmp_path / "synthetic-action"
    argv = ["synthetic-ssl", "--out", str(out), "--classes", "3", "--seed", "4"]
    argv += ["--train-per-class", "2", "--test-per-class", "1"]
    assert cli.main([*argv, "--frames", "4", "--size", "16"]) == 0
    assert "6 training and 3 test videos" in capsys.readouterr().out
    dataset = load_prepared_action_dataset(out)
    assert (len(dataset.train), len(dataset.test)) == (6, 3)
    assert dataset.train[5].label == 2
    assert dataset.train[0].read_frames([3]).shape == (1, 16, 16, 3)
    assert cli.main(argv) == 2  # the folder is not empty any more


def test_synthetic_ssl_camera_motion_moves_the_written_backgrounds(tmp_path):
    argv = ["synthetic-ssl", "--classes", "1", "--train-per-class", "1"]
    argv += ["--test-per-class", "1", "--frames", "6", "--size", "24"]
    assert cli.main([*argv, "--out", str(tmp_path / "still")]) == 0
    assert cli.main([*argv, "--out", str(tmp_path / "moving"), "--camera-motion"]) == 0

    def first_and_last(root: Path) -> np.ndarray:
        video = load_prepared_action_dataset(root).train[0]
        return video.read_frames([0, 5]).astype(np.float64)

    still, moving = (
        first_and_last(tmp_path / "still"),
        first_and_last(tmp_path / "moving"),
    )

    def changed_share(frames: np.ndarray) -> float:
        return float((np.abs(frames[1] - frames[0]).max(axis=-1) > 12).mean())

    # Static background: only the objects change; panning changes most pixels.
    assert changed_share(still) < 0.3 < changed_share(moving)
