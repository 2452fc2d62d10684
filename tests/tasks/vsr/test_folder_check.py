"""``fedvideo prepare reds|vid4 --check DIR`` on small trees in the real layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from vsr_layouts import write_clip

from fedvideo.cli import main
from fedvideo.tasks.vsr.data.folder_check import (
    REDS_FRAMES_PER_CLIP,
    REDS_TRAIN_CLIPS,
    VID4_FRAMES,
    check_reds,
    check_vid4,
)

CLIPS = ("000", "001", "002")  # one REDS4 clip and two training clips


def make_reds(root: Path, clips=CLIPS, frames: int = 5) -> Path:
    for seed, clip in enumerate(clips):
        write_clip(
            root / "train_sharp" / clip,
            root / "train_sharp_bicubic" / "X4" / clip,
            frames=frames,
            seed=seed,
        )
    return root


def test_the_official_reds_clips():
    assert REDS_TRAIN_CLIPS[0] == "000" and REDS_TRAIN_CLIPS[-1] == "239"
    assert len(REDS_TRAIN_CLIPS) == 240 and REDS_FRAMES_PER_CLIP == 100
    assert sum(VID4_FRAMES.values()) == 171


def test_a_complete_reds_folder(tmp_path):
    check = check_reds(make_reds(tmp_path), clips=CLIPS, frames_per_clip=5)
    assert check.problems == []
    assert check.counts == {
        "training clips": 2,
        "REDS4 test clips": 1,
        "HR frames": 15,
        "LR frames (x4)": 15,
    }
    assert any("000, 011, 015, 020" in note for note in check.notes)
    assert "HR frame sizes: 32x32" in check.notes


def test_a_truncated_reds_folder_names_every_fault(tmp_path):
    root = make_reds(tmp_path)
    lr = root / "train_sharp_bicubic" / "X4"
    (lr / "001" / "00000003.png").unlink()  # a frame lost in the download
    hr_frame = root / "train_sharp" / "002" / "00000002.png"
    hr_frame.write_bytes(hr_frame.read_bytes()[:60])  # a file cut short
    for frame in (lr / "000").iterdir():  # a clip missing from the LR archive
        frame.unlink()
    (lr / "000").rmdir()
    check = check_reds(root, clips=CLIPS, frames_per_clip=5)
    assert check.exit_status() == 1
    assert check.problems == [
        f"clip folder {lr / '000'} does not exist",
        f"frame {lr / '001' / '00000003.png'} is missing (its HR frame exists)",
        check.problems[2],  # Pillow's words for the cut file, checked below
    ]
    assert str(hr_frame) in check.problems[2]
    assert check.counts["training clips"] == 2 and check.counts["HR frames"] == 8
    assert check.counts["REDS4 test clips"] == 0


def test_reds_frame_counts_sizes_and_missing_folders(tmp_path):
    root = make_reds(tmp_path, clips=("000",), frames=4)
    write_clip(
        root / "train_sharp" / "005",
        root / "train_sharp_bicubic" / "X4" / "005",
        frames=5,
        lr_size=(16, 16),
    )
    check = check_reds(root, clips=("000", "005"), frames_per_clip=5)
    assert check.problems[0] == (
        f"clip folder {root / 'train_sharp' / '000'} has 4 frames, expected 5"
    )
    assert "is 32x32 but" in check.problems[1] and "(expected x4)" in check.problems[1]
    empty = check_reds(tmp_path / "nothing")
    assert empty.problems == [
        f"folder {tmp_path / 'nothing' / 'train_sharp'} does not exist",
        f"folder {tmp_path / 'nothing' / 'train_sharp_bicubic' / 'X4'} does not exist",
    ]


def test_vid4_with_its_real_frame_counts(tmp_path):
    for seed, (clip, frames) in enumerate(VID4_FRAMES.items()):
        write_clip(
            tmp_path / "GT" / clip,
            tmp_path / "BIx4" / clip,
            frames=frames,
            hr_size=(8, 8),
            lr_size=(2, 2),
            seed=seed,
        )
    check = check_vid4(tmp_path)
    assert check.complete, check.problems
    assert check.counts == {"test clips": 4, "HR frames": 171, "LR frames (x4)": 171}
    assert main(["prepare", "vid4", "--check", str(tmp_path)]) == 0
    (tmp_path / "GT" / "walk" / "00000046.png").unlink()
    check = check_vid4(tmp_path)
    assert f"clip folder {tmp_path / 'GT' / 'walk'} has 46 frames, expected 47" in (
        check.problems
    )


@pytest.mark.parametrize("dataset", ["reds", "vid4"])
def test_the_command_prints_the_report_and_exits_1_when_incomplete(
    tmp_path, capsys, dataset
):
    make_reds(tmp_path)
    assert main(["prepare", dataset, "--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.rstrip().endswith("is INCOMPLETE")
    if dataset == "reds":  # official list: 237 clips missing, HR and LR (474),
        assert "477 problem(s)" in out  # and 3 clips of 5 frames, not 100
