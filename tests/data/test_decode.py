"""Reading and writing video files with PyAV."""

import numpy as np
import pytest

from fedvideo.data.decode import inspect_video_file, read_video, write_video
from fedvideo.data.errors import DatasetError


def _frames(count: int = 6, height: int = 32, width: int = 48) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height // 8, width // 8, 3)).astype(np.uint8)
    big = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))  # blocky: codec-friendly
    return np.stack([np.roll(big, shift, axis=1) for shift in range(count)])


def test_write_then_read_round_trips_size_count_and_rate(tmp_path):
    frames = _frames()
    path = tmp_path / "clip.mp4"
    assert write_video(path, iter(frames), fps=12.5) == 6
    video = read_video(path)
    assert video.frames.shape == frames.shape and video.frames.dtype == np.uint8
    assert video.fps == pytest.approx(12.5)
    assert np.abs(video.frames.astype(int) - frames).mean() < 8  # lossy H.264
    assert read_video(path, max_frames=2).frames.shape[0] == 2


def test_odd_sizes_are_padded_for_h264(tmp_path):
    path = tmp_path / "odd.mp4"
    write_video(path, iter(_frames(2, 40, 48)[:, :33, :47]), fps=25)
    assert read_video(path).frames.shape == (2, 34, 48, 3)


def test_missing_and_undecodable_files_are_named(tmp_path):
    with pytest.raises(DatasetError, match="nothing.mp4 does not exist"):
        read_video(tmp_path / "nothing.mp4")
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(DatasetError, match="fake.mp4"):
        read_video(fake)


def test_writing_no_frames_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no frames"):
        write_video(tmp_path / "empty.mp4", iter([]), fps=25)
    assert not (tmp_path / "empty.mp4").exists()


def test_containers_follow_the_suffix(tmp_path):
    write_video(tmp_path / "clip.mkv", iter(_frames(2)), fps=25)
    assert read_video(tmp_path / "clip.mkv").frames.shape[0] == 2
    with pytest.raises(DatasetError, match=r"clip.gif.*\.mkv"):
        write_video(tmp_path / "clip.gif", iter(_frames(2)), fps=25)


@pytest.mark.parametrize("count", [2, 12])  # 2: the decoder holds both frames back
def test_inspect_counts_frames_and_reads_the_first_one(tmp_path, count):
    path = tmp_path / "clip.mp4"
    write_video(path, _frames(count), fps=25)
    info = inspect_video_file(path)
    assert (info.frames, info.height, info.width) == (count, 32, 48)


def test_inspect_finds_missing_garbled_and_cut_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        inspect_video_file(tmp_path / "absent.mp4")
    garbled = tmp_path / "garbled.avi"
    garbled.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(DatasetError, match="garbled.avi"):
        inspect_video_file(garbled)
    path = tmp_path / "clip.mp4"
    write_video(path, _frames(12), fps=25)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # an interrupted download
    with pytest.raises(DatasetError, match="clip.mp4"):
        inspect_video_file(path)
