"""Tests for frame-folder videos and REDS/Vid4 discovery."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vsr_layouts import make_reds, make_vid4, write_clip

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS, discover_vsr_dataset
from fedvideo.tasks.vsr.data.video import FrameFolderVideo, InMemoryVideo, Video


def names_in(message: str, *paths: Path) -> bool:
    return all(str(path) in message for path in paths)


def test_reds_discovery_keeps_reds4_out_of_training(tmp_path):
    root = make_reds(tmp_path / "reds", ("000", "001", "011", "002"))
    dataset = discover_vsr_dataset(root)
    assert dataset.name == "reds" and dataset.eval_y_channel is False
    assert [v.name for v in dataset.train] == ["001", "002"]
    assert [v.name for v in dataset.test] == ["000", "011"]
    assert not {v.name for v in dataset.train} & set(REDS4_CLIPS)
    video = dataset.train[0]
    assert isinstance(video, Video)
    assert (
        video.num_frames == 5 and video.lr_size == (8, 8) and video.hr_size == (32, 32)
    )
    lr, hr = video.load([4, 0])
    assert lr.shape == (2, 8, 8, 3) and hr.shape == (2, 32, 32, 3)
    expected = np.asarray(Image.open(root / "train_sharp" / "001" / "00000004.png"))
    assert np.array_equal(hr[0], expected)


def test_vid4_discovery_is_test_only_with_y_channel(tmp_path):
    dataset = discover_vsr_dataset(make_vid4(tmp_path / "vid4"))
    assert dataset.name == "vid4" and dataset.eval_y_channel is True
    assert dataset.train == []
    assert [v.name for v in dataset.test] == ["calendar", "city"]


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as err:
        discover_vsr_dataset(missing)
    assert names_in(str(err.value), missing)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="empty") as err:
        discover_vsr_dataset(tmp_path)
    assert names_in(str(err.value), tmp_path) and "REDS" in str(err.value)


def test_unrecognised_layout(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(DatasetError, match="unrecognised layout") as err:
        discover_vsr_dataset(tmp_path)
    assert names_in(str(err.value), tmp_path)
    assert "train_sharp" in str(err.value) and "GT" in str(err.value)


def test_missing_lr_root_for_scale(tmp_path):
    root = make_reds(tmp_path)
    with pytest.raises(DatasetError, match="X2") as err:
        discover_vsr_dataset(root, scale=2)
    assert names_in(str(err.value), root / "train_sharp_bicubic" / "X2")


def test_clip_without_lr_folder(tmp_path):
    root = make_reds(tmp_path)
    write_clip(root / "train_sharp" / "005", tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match="no LR counterpart") as err:
        discover_vsr_dataset(root)
    assert names_in(str(err.value), root / "train_sharp" / "005")


def test_clip_folder_without_frames(tmp_path):
    root = make_reds(tmp_path)
    (root / "train_sharp" / "007").mkdir()
    (root / "train_sharp_bicubic" / "X4" / "007").mkdir()
    with pytest.raises(DatasetError, match="no frames") as err:
        discover_vsr_dataset(root)
    assert "007" in str(err.value)


def test_corrupt_first_frame_is_named(tmp_path):
    root = make_reds(tmp_path)
    broken = root / "train_sharp" / "001" / "00000000.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match="cannot read") as err:
        discover_vsr_dataset(root)
    assert names_in(str(err.value), broken)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_frame_is_named_on_load(tmp_path, damage):
    root = make_reds(tmp_path)
    video = discover_vsr_dataset(root).train[0]
    broken = root / "train_sharp" / "001" / "00000003.png"
    data = broken.read_bytes()
    broken.write_bytes(
        b"garbage" * 10 if damage == "garbage" else data[: len(data) // 2]
    )
    video.load([0, 1, 2])  # frames before the broken one still load
    with pytest.raises(DatasetError, match="cannot read frame file") as err:
        video.load([2, 3])
    assert names_in(str(err.value), broken)


def test_lr_hr_size_mismatch_names_both_files_and_sizes(tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    write_clip(hr_dir, lr_dir, frames=2, hr_size=(32, 32), lr_size=(10, 8))
    with pytest.raises(DatasetError, match="size mismatch") as err:
        FrameFolderVideo("clip", lr_dir, hr_dir, scale=4)
    message = str(err.value)
    assert names_in(message, lr_dir / "00000000.png", hr_dir / "00000000.png")
    assert "10x8" in message and "32x32" in message


def test_frame_count_mismatch_names_both_folders(tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    write_clip(hr_dir, lr_dir, frames=4)
    (lr_dir / "00000003.png").unlink()
    with pytest.raises(DatasetError, match="frame count mismatch") as err:
        FrameFolderVideo("clip", lr_dir, hr_dir, scale=4)
    assert names_in(str(err.value), lr_dir, hr_dir)


def test_frame_name_mismatch_names_both_folders(tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    write_clip(hr_dir, lr_dir, frames=2)
    (lr_dir / "00000001.png").rename(lr_dir / "00000009.png")
    with pytest.raises(DatasetError, match="frame names differ") as err:
        FrameFolderVideo("clip", lr_dir, hr_dir, scale=4)
    assert names_in(str(err.value), lr_dir, hr_dir)


def test_frame_with_a_different_size_is_named(tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    write_clip(hr_dir, lr_dir, frames=3)
    odd = hr_dir / "00000002.png"
    Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(odd)
    video = FrameFolderVideo("clip", lr_dir, hr_dir, scale=4)
    with pytest.raises(DatasetError, match=re.escape("16x32")) as err:
        video.load([0, 2])
    assert names_in(str(err.value), odd)


def test_frames_sort_naturally_and_convert_to_rgb(tmp_path):
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    for folder, size in ((hr_dir, 8), (lr_dir, 4)):
        folder.mkdir()
        for index in (1, 2, 10):
            grey = np.full((size, size), index, np.uint8)
            Image.fromarray(grey, mode="L").save(folder / f"im{index}.png")
    (hr_dir / "notes.txt").write_text("ignored")
    video = FrameFolderVideo("clip", lr_dir, hr_dir, scale=2)
    assert [p.name for p in video.hr_files] == ["im1.png", "im2.png", "im10.png"]
    lr, hr = video.load([2])
    assert lr.shape == (1, 4, 4, 3) and hr.shape == (1, 8, 8, 3)
    assert (hr == 10).all()


def test_frame_index_out_of_range_names_the_video(tmp_path):
    write_clip(tmp_path / "hr", tmp_path / "lr", frames=2)
    video = FrameFolderVideo("clip-x", tmp_path / "lr", tmp_path / "hr", scale=4)
    with pytest.raises(DatasetError, match="clip-x"):
        video.load([2])


def test_in_memory_video_validates_shapes():
    lr = np.zeros((3, 4, 5, 3), np.uint8)
    video = InMemoryVideo("ok", lr, np.zeros((3, 8, 10, 3), np.uint8))
    assert video.scale == 2 and video.num_frames == 3
    with pytest.raises(DatasetError, match="'bad-size'"):
        InMemoryVideo("bad-size", lr, np.zeros((3, 8, 11, 3), np.uint8))
    with pytest.raises(DatasetError, match="'bad-count'"):
        InMemoryVideo("bad-count", lr, np.zeros((2, 8, 10, 3), np.uint8))
    with pytest.raises(DatasetError, match="'bad-dtype'"):
        InMemoryVideo("bad-dtype", lr.astype(np.float32), np.zeros((3, 8, 10, 3)))
