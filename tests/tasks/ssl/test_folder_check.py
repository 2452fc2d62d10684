"""``fedvideo prepare ucf101|hmdb51|kinetics400 --check DIR`` on small real layouts."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from fedvideo.cli import main
from fedvideo.tasks.ssl.data.folder_check import (
    check_hmdb51,
    check_kinetics400,
    check_ucf101,
)

FRAMES = 8


def write_avi(path: Path, shade: int) -> Path:
    """Encode ``FRAMES`` frames of 24x40 pixels as MPEG-4 in AVI, like UCF-101."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 40, 24, "yuv420p"
        for t in range(FRAMES):
            frame = np.full((24, 40, 3), shade, np.uint8)
            frame[:, 4 * t : 4 * t + 6] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cut(path: Path, share: float = 0.9) -> None:
    """Keep the first ``share`` of a file's bytes: an interrupted download."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


@pytest.fixture
def ucf101(tmp_path) -> Path:
    """UCF-101's layout: UCF-101/<Class>/*.avi and ucfTrainTestlist/."""
    videos = tmp_path / "UCF-101"
    for k, name in enumerate(
        [
            "Archery/v_Archery_g01_c01",
            "Archery/v_Archery_g02_c01",
            "Bowling/v_Bowling_g01_c01",
        ]
    ):
        write_avi(videos / f"{name}.avi", 40 * k + 30)
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Archery\n2 Bowling\n")
    (lists / "trainlist01.txt").write_text(
        "Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n"
    )
    (lists / "testlist01.txt").write_text("Archery/v_Archery_g02_c01.avi\n")
    return tmp_path


def test_a_complete_ucf101_folder(ucf101, capsys):
    check = check_ucf101(ucf101)
    assert check.problems == []
    assert check.counts == {
        "classes": 2,
        "split 1 train videos found": 2,
        "split 1 test videos found": 1,
        "listed videos missing": 0,
        "frames": 3 * FRAMES,
    }
    assert main(["prepare", "ucf101", "--check", str(ucf101)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("is complete")


def test_a_truncated_ucf101_folder(ucf101, capsys):
    (ucf101 / "UCF-101" / "Bowling" / "v_Bowling_g01_c01.avi").unlink()
    cut(ucf101 / "UCF-101" / "Archery" / "v_Archery_g02_c01.avi")
    check = check_ucf101(ucf101)
    assert check.counts["listed videos missing"] == 1
    assert check.problems[0].startswith(
        "1 of the 3 listed videos are missing (33.3 %), e.g. Bowling/v_Bowling_g01_c01"
    )
    assert "v_Archery_g02_c01.avi" in check.problems[1]
    assert len(check.problems) == 2
    assert main(["prepare", "ucf101", "--check", str(ucf101)]) == 1
    assert "2 problem(s)" in capsys.readouterr().out


def test_ucf101_without_its_lists_is_incomplete(ucf101):
    (ucf101 / "ucfTrainTestlist" / "testlist01.txt").unlink()
    check = check_ucf101(ucf101)
    assert len(check.problems) == 1 and "testlist01.txt" in check.problems[0]
    assert check_ucf101(ucf101, split=1, split_dir=ucf101 / "elsewhere").problems


def test_hmdb51_counts_train_and_test_and_ignores_unused_videos(tmp_path):
    for k, name in enumerate(["wave/w1", "wave/w2", "wave/w3", "brush_hair/b1"]):
        write_avi(tmp_path / f"{name}.avi", 50 * k)
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    (splits / "wave_test_split1.txt").write_text("w1.avi 1 \nw2.avi 2 \nw3.avi 0 \n")
    (splits / "brush_hair_test_split1.txt").write_text("b1.avi 1\n")
    check = check_hmdb51(tmp_path)
    assert check.problems == []
    assert check.counts["split 1 train videos found"] == 2
    assert check.counts["split 1 test videos found"] == 1
    assert check.counts["frames"] == 3 * FRAMES  # w3 (id 0) is not in split 1
    cut(tmp_path / "wave" / "w1.avi", 0.5)
    assert main(["prepare", "hmdb51", "--check", str(tmp_path)]) == 1


def test_kinetics_allows_videos_gone_from_youtube_only_when_asked(tmp_path):
    rows = ["label,youtube_id,time_start,time_end,split"]
    for k, label in enumerate(["yoga", "yoga", "air drumming"]):
        rows.append(f"{label},id{k},0,10,train")
        write_avi(tmp_path / "train" / label / f"id{k}_000000_000010.avi", 60 * k)
    rows.append("yoga,gone,0,10,val")
    csv = tmp_path / "k400.csv"
    csv.write_text("\n".join(rows) + "\n")
    strict = check_kinetics400(tmp_path, [csv])
    assert strict.counts["classes"] == 2 and strict.counts["frames"] == 3 * FRAMES
    assert strict.problems == [
        "1 of the 4 listed videos are missing (25.0 %), e.g. yoga/gone_000000_000010"
    ]
    lenient = check_kinetics400(tmp_path, [csv], max_missing_fraction=0.3)
    assert lenient.complete and "allowed up to 30 %" in lenient.notes[0]
    argv = [
        "prepare",
        "kinetics400",
        "--check",
        str(tmp_path),
        "--annotations",
        str(csv),
    ]
    assert main(argv) == 1
    assert main([*argv, "--max-missing", "0.3"]) == 0
    assert main([*argv, "--max-missing", "2"]) == 2  # not a share: a usage error
