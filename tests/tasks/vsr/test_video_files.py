"""Real footage as a VSR test set: a folder of video files (the BI protocol)."""

import numpy as np
import pytest
import torch
from tiny_tasks import tiny_task
from video_clips import write_clip_file

from fedvideo.data.decode import read_video
from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.degradation import bicubic_downsample
from fedvideo.tasks.vsr.data.folders import discover_vsr_dataset

CPU = torch.device("cpu")


@pytest.fixture
def footage(tmp_path):
    folder = tmp_path / "footage"
    folder.mkdir()
    write_clip_file(folder / "b.mp4", seed=1)
    write_clip_file(folder / "a.mkv", seed=2)
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_a_folder_of_videos_is_a_test_only_dataset(footage):
    dataset = discover_vsr_dataset(footage, scale=4, max_frames=4)
    assert dataset.name == "videos" and dataset.train == []
    assert dataset.eval_y_channel  # evaluated like Vid4
    assert [clip.name for clip in dataset.test] == ["a", "b"]
    clip = dataset.test[1]
    assert clip.num_frames == 4
    assert clip.hr_size == (36, 48) and clip.lr_size == (9, 12)  # cropped to x4
    lr, hr = clip.load(range(4))
    decoded = read_video(footage / "b.mp4", 4).frames[:, :36, :48]
    assert np.array_equal(hr, decoded)
    assert np.array_equal(lr, bicubic_downsample(np.ascontiguousarray(decoded), 4))


def test_the_task_scores_real_footage_from_test_dataset(footage):
    overrides = {"vsr.test-dataset": str(footage), "vsr.video-max-frames": 3}
    task, _, _ = tiny_task(**overrides)
    assert [clip.num_frames for clip in task.test_data()] == [3, 3]
    metrics = task.evaluate_global(task.build_model(), CPU)
    assert metrics["psnr"] == metrics["psnr_bicubic"]  # a fresh model is bicubic
    assert 10 < metrics["psnr_bicubic"] < 60


def test_an_undecodable_video_is_named(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 64)
    with pytest.raises(DatasetError, match="broken.mp4"):
        discover_vsr_dataset(tmp_path)


def test_a_folder_without_videos_lists_every_layout(tmp_path):
    (tmp_path / "notes.txt").write_text("no videos here")
    with pytest.raises(DatasetError, match=r"video files \(\*\.mp4"):
        discover_vsr_dataset(tmp_path)
