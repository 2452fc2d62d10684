"""Tests for the action video data: clips, synthetic data, layouts, partitions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from fedvideo.data.decode import decode_video_to_frames
from fedvideo.data.errors import DatasetError
from fedvideo.data.partition import (
    SCHEMES,
    partition_iid_shuffled,
    partition_kinetics_noniid,
    partition_names,
)
from fedvideo.tasks.ssl.data.action_datasets import (
    load_prepared_action_dataset,
    parse_hmdb51,
    parse_kinetics400,
    parse_ucf101,
    read_annotation_list,
    read_class_names,
    write_annotation_list,
)
from fedvideo.tasks.ssl.data.action_video import (
    ActionVideo,
    FrameFolderActionVideo,
    InMemoryActionVideo,
)
from fedvideo.tasks.ssl.data.synthetic import (
    MOTION_PATTERNS,
    make_synthetic_action_videos,
    synthetic_action_splits,
    write_synthetic_action_dataset,
)


def write_tiny_video(path: Path, codec: str = "mpeg4", frames: int = 8) -> np.ndarray:
    """Encode ``frames`` 32x48 RGB frames (a moving bright bar) with PyAV."""
    clip = np.zeros((frames, 32, 48, 3), np.uint8)
    for t in range(frames):
        clip[t, :, 4 * t : 4 * t + 8] = 255
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=8)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in clip:
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return clip


# ---------------------------------------------------------------------------
# Clips
# ---------------------------------------------------------------------------


def test_in_memory_action_video():
    frames = np.arange(4 * 5 * 6 * 3, dtype=np.uint8).reshape(4, 5, 6, 3)
    video = InMemoryActionVideo("walk/v1", 2, frames)
    assert isinstance(video, ActionVideo)
    assert (video.name, video.label, video.num_frames) == ("walk/v1", 2, 4)
    assert video.frame_size == (5, 6)
    np.testing.assert_array_equal(video.read_frames([3, 1]), frames[[3, 1]])
    frames[0] = 0  # the video holds a copy
    assert video.frames[0].any() and not video.frames.flags.writeable
    with pytest.raises(DatasetError, match="walk/v1"):
        video.read_frames([4])
    with pytest.raises(DatasetError, match="uint8"):
        InMemoryActionVideo("walk/v2", 0, frames.astype(np.float32))
    with pytest.raises(DatasetError, match="label"):
        InMemoryActionVideo("walk/v3", -1, frames)


def test_frame_folder_video_reads_requested_frames(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(11, 6, 7, 3), dtype=np.uint8)
    for k, frame in enumerate(frames, start=1):  # natural order: 2 before 10
        Image.fromarray(frame).save(tmp_path / f"img_{k}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    video = FrameFolderActionVideo("jump/clip", 1, tmp_path)
    assert isinstance(video, ActionVideo)
    assert (video.num_frames, video.frame_size, video.label) == (11, (6, 7), 1)
    np.testing.assert_array_equal(video.read_frames([9, 1]), frames[[9, 1]])
    with pytest.raises(DatasetError, match="out of range"):
        video.read_frames([11])


def test_frame_folder_video_names_corrupt_frame_and_empty_folder(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    Image.new("RGB", (4, 4)).save(folder / "img_00001.jpg")
    (folder / "img_00002.jpg").write_bytes(b"not a jpeg")
    video = FrameFolderActionVideo("a/clip", 0, folder)
    assert video.read_frames([0]).shape == (1, 4, 4, 3)
    with pytest.raises(DatasetError, match="img_00002.jpg"):
        video.read_frames([1])
    with pytest.raises(DatasetError, match="img_00002.jpg"):
        video.verify()  # before any training step reads it
    Image.new("RGB", (5, 4)).save(folder / "img_00002.jpg")
    with pytest.raises(DatasetError, match="img_00002.jpg is 4x5"):
        video.verify()
    (folder / "img_00002.jpg").unlink()
    FrameFolderActionVideo("a/clip", 0, folder).verify()
    empty = tmp_path / "empty"
    empty.mkdir()
    video = FrameFolderActionVideo("a/empty", 0, empty)
    with pytest.raises(DatasetError, match="empty"):
        video.read_frames([0])


# ---------------------------------------------------------------------------
# Synthetic action data
# ---------------------------------------------------------------------------


def test_synthetic_action_videos_are_deterministic():
    first = make_synthetic_action_videos(5, 3, 2, 6, 24)
    again = make_synthetic_action_videos(5, 3, 2, 6, 24)
    other = make_synthetic_action_videos(6, 3, 2, 6, 24)
    assert [v.name for v in first] == [
        f"class_{c:02d}/video_{i:03d}" for c in range(3) for i in range(2)
    ]
    assert [v.label for v in first] == [0, 0, 1, 1, 2, 2]
    for a, b, c in zip(first, again, other, strict=True):
        assert a.frames.shape == (6, 24, 24, 3)
        np.testing.assert_array_equal(a.frames, b.frames)
        assert not np.array_equal(a.frames, c.frames)
    # A clip depends only on (seed, class, index), not on the dataset's size.
    bigger = make_synthetic_action_videos(5, 4, 3, 6, 24)
    np.testing.assert_array_equal(bigger[4].frames, first[3].frames)


def test_synthetic_action_splits_and_limits():
    train, test = synthetic_action_splits(1, 2, 2, 1, 4, 16)
    assert [v.name for v in test] == [
        "class_00/test_video_000",
        "class_01/test_video_000",
    ]
    assert train[0].name == "class_00/train_video_000"
    assert not np.array_equal(train[0].frames, test[0].frames)
    again, _ = synthetic_action_splits(1, 2, 2, 1, 4, 16)
    np.testing.assert_array_equal(again[3].frames, train[3].frames)
    with pytest.raises(DatasetError, match="motion patterns"):
        make_synthetic_action_videos(0, len(MOTION_PATTERNS) + 1, 1, 4, 16)
    with pytest.raises(DatasetError, match="synthetic.frames"):
        make_synthetic_action_videos(0, 2, 1, 1, 16)


def _difference_centroids(frames: np.ndarray) -> np.ndarray:
    """Centroid ``(y, x)`` of the absolute frame difference, per frame pair."""
    diff = np.abs(np.diff(frames.astype(np.float32), axis=0)).sum(axis=-1)
    ys, xs = np.mgrid[: frames.shape[1], : frames.shape[2]]
    weight = diff.sum(axis=(1, 2)) + 1e-6
    return np.stack(
        [(diff * ys).sum(axis=(1, 2)) / weight, (diff * xs).sum(axis=(1, 2)) / weight],
        axis=1,
    )


def test_synthetic_classes_differ_in_motion_not_appearance():
    per_class = 5
    videos = make_synthetic_action_videos(11, len(MOTION_PATTERNS), per_class, 12, 40)
    # Appearance: per-class means of the first frames' colour statistics vary no
    # more than chance (one-way ANOVA F statistic per feature).
    features = np.array(
        [
            np.concatenate(
                [v.frames[0].mean(axis=(0, 1)), v.frames[0].std(axis=(0, 1))]
            )
            for v in videos
        ]
    ).reshape(len(MOTION_PATTERNS), per_class, 6)
    between = features.mean(axis=1).var(axis=0, ddof=1) * per_class
    within = features.var(axis=1, ddof=1).mean(axis=0)
    assert np.all(between / within < 3.5)
    # Motion: every clip moves, and translations move the changing region the
    # class's way (rows grow downwards).
    expected = {
        "translate-right": (1, 1),
        "translate-left": (1, -1),
        "translate-down": (0, 1),
        "translate-up": (0, -1),
    }
    for video in videos:
        motion = np.abs(np.diff(video.frames.astype(int), axis=0)).mean()
        assert motion > 0.05, video.name
        pattern = MOTION_PATTERNS[video.label]
        if pattern in expected:
            axis, sign = expected[pattern]
            centroids = _difference_centroids(video.frames)[:, axis]
            slope = np.polyfit(np.arange(len(centroids)), centroids, 1)[0]
            assert sign * slope > 0.2, (video.name, slope)


def _global_shift(first: np.ndarray, second: np.ndarray) -> tuple[int, int]:
    """Whole-pixel shift ``(dy, dx)`` that moves ``first`` onto ``second``."""
    a = first.astype(np.float64).mean(axis=-1)
    b = second.astype(np.float64).mean(axis=-1)
    cross = np.fft.fft2(b) * np.conj(np.fft.fft2(a))
    peak = np.fft.ifft2(cross / (np.abs(cross) + 1e-9)).real
    dy, dx = np.unravel_index(peak.argmax(), peak.shape)
    size = first.shape[0]
    return (
        int((dy + size // 2) % size - size // 2),
        int((dx + size // 2) % size - size // 2),
    )


def test_camera_motion_moves_the_background_the_class_way():
    expected = {
        "translate-right": (0, 1),
        "translate-left": (0, -1),
        "translate-down": (1, 0),
        "translate-up": (-1, 0),
    }
    videos = make_synthetic_action_videos(3, 4, 3, 24, 48, camera_motion=True)
    for video in videos:
        dy, dx = _global_shift(video.frames[0], video.frames[6])
        want = expected[MOTION_PATTERNS[video.label]]
        # 0.8-2.0 px per frame at 80 px: 2.9-7.2 px over 6 frames at 48 px.
        distance = dy * want[0] + dx * want[1]
        assert 2 <= distance <= 8, (video.name, dy, dx)
        assert abs(dy * want[1]) + abs(dx * want[0]) <= 1, (video.name, dy, dx)
    # Without camera motion the background stays put (the objects move).
    still = make_synthetic_action_videos(3, 1, 1, 24, 48)[0]
    assert _global_shift(still.frames[0], still.frames[-1]) == (0, 0)


def test_camera_motion_keeps_clips_deterministic_and_appearance_class_blind():
    first = make_synthetic_action_videos(4, 2, 1, 6, 24, camera_motion=True)
    again = make_synthetic_action_videos(4, 2, 1, 6, 24, camera_motion=True)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)
    rotating = make_synthetic_action_videos(4, 6, 1, 12, 24, camera_motion=True)[4]
    assert MOTION_PATTERNS[rotating.label] == "rotate-cw"
    assert np.abs(np.diff(rotating.frames.astype(int), axis=0)).mean() > 1.0


def test_sample_bilinear_is_exact_on_a_linear_canvas():
    from fedvideo.tasks.ssl.data.synthetic import _sample_bilinear

    ys, xs = np.mgrid[0:6, 0:5].astype(np.float64)
    canvas = np.stack([ys, xs, 2 * ys + 3 * xs], axis=-1).astype(np.float32)
    points_y = np.array([[0.0, 2.5], [4.25, 5.0]])
    points_x = np.array([[0.0, 1.5], [3.75, 4.0]])
    sampled = _sample_bilinear(canvas, points_y, points_x)
    np.testing.assert_allclose(sampled[..., 0], points_y, atol=1e-6)
    np.testing.assert_allclose(sampled[..., 1], points_x, atol=1e-6)
    np.testing.assert_allclose(sampled[..., 2], 2 * points_y + 3 * points_x, atol=1e-5)
    # Points outside are clamped to the border.
    outside = _sample_bilinear(canvas, np.array([-2.0, 9.0]), np.array([1.0, 7.0]))
    np.testing.assert_allclose(outside[:, :2], [[0.0, 1.0], [5.0, 4.0]])


# ---------------------------------------------------------------------------
# Prepared layout and annotations
# ---------------------------------------------------------------------------


def test_annotation_round_trip_and_validation(tmp_path):
    path = tmp_path / "train.json"
    entries = [{"name": "a/v1", "label": 0}, {"name": "b_c/v2", "label": 3}]
    write_annotation_list(path, entries)
    assert read_annotation_list(path) == entries
    cases = [
        ('{"name": "a/v1"}', "list"),
        ('[{"name": "a/v1", "label": 0}, {"name": "a/v2"}]', "entry 1"),
        ('[{"name": "a/v1", "label": true}]', "label"),
        ('[{"name": "v1", "label": 0}]', "<class>/<video>"),
        ('[{"name": "a/../b", "label": 0}]', "<class>/<video>"),
        ('[{"name": "a/v", "label": 0}, {"name": "a/v", "label": 1}]', "duplicate"),
        ("[", "not valid JSON"),
    ]
    for text, message in cases:
        path.write_text(text)
        with pytest.raises(DatasetError, match=message) as info:
            read_annotation_list(path)
        assert str(path) in str(info.value)
    with pytest.raises(DatasetError, match="entry 0"):
        write_annotation_list(path, [{"name": 5, "label": 0}])


def test_synthetic_dataset_round_trip(tmp_path):
    root = write_synthetic_action_dataset(tmp_path / "syn", 3, 2, 2, 1, 4, 16)
    dataset = load_prepared_action_dataset(root)
    assert (
        dataset.classes
        == ["class_00", "class_01"]
        == read_class_names(root / "annotations" / "classes.json")
    )
    assert [v.name for v in dataset.train] == [
        "class_00/train_video_000",
        "class_00/train_video_001",
        "class_01/train_video_000",
        "class_01/train_video_001",
    ]
    assert [v.label for v in dataset.test] == [0, 1]
    train, _ = synthetic_action_splits(3, 2, 2, 1, 4, 16)
    loaded = dataset.train[2].read_frames([0, 3])
    error = np.abs(loaded.astype(int) - train[2].frames[[0, 3]]).mean()
    assert loaded.shape == (2, 16, 16, 3) and error < 4  # JPEG quality 95
    with pytest.raises(DatasetError, match="not empty"):
        write_synthetic_action_dataset(root)


def test_prepared_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="fedvideo prepare ssl"):
        load_prepared_action_dataset(tmp_path)
    root = write_synthetic_action_dataset(tmp_path / "syn", 0, 2, 1, 0, 2, 16)
    assert load_prepared_action_dataset(root).test == []
    (root / "annotations" / "test.json").unlink()
    assert load_prepared_action_dataset(root).test == []
    folder = root / "frames" / "class_01" / "train_video_000"
    for frame in folder.iterdir():
        frame.unlink()
    folder.rmdir()
    with pytest.raises(DatasetError, match="class_01/train_video_000"):
        load_prepared_action_dataset(root)
    write_annotation_list(
        root / "annotations" / "train.json", [{"name": "class_00/x", "label": 7}]
    )
    with pytest.raises(DatasetError, match="label 7"):
        load_prepared_action_dataset(root)


# ---------------------------------------------------------------------------
# Raw layouts
# ---------------------------------------------------------------------------


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_parse_ucf101(tmp_path):
    videos = tmp_path / "UCF-101"
    for clip in ("Archery/v_Archery_g01_c01", "Archery/v_Archery_g08_c01"):
        touch(videos / f"{clip}.avi")
    touch(videos / "Bowling/v_Bowling_g02_c03.avi")
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Archery\r\n2 Bowling\r\n")
    (lists / "trainlist01.txt").write_text(
        "Archery/v_Archery_g08_c01.avi 1\nBowling/v_Bowling_g02_c03.avi 2\n"
        "Bowling/v_Bowling_g09_c01.avi 2\n"
    )
    (lists / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    layout = parse_ucf101(tmp_path)
    assert layout.classes == ["Archery", "Bowling"]
    assert [(v.name, v.label, v.split) for v in layout.videos] == [
        ("Archery/v_Archery_g08_c01", 0, "train"),
        ("Bowling/v_Bowling_g02_c03", 1, "train"),
        ("Archery/v_Archery_g01_c01", 0, "test"),
    ]
    assert layout.videos[0].video_path == videos / "Archery/v_Archery_g08_c01.avi"
    assert layout.missing == ["Bowling/v_Bowling_g09_c01"]
    with pytest.raises(DatasetError, match="trainlist02.txt"):
        parse_ucf101(tmp_path, split=2)
    (lists / "trainlist01.txt").write_text("Curling/v_Curling_g01_c01.avi 3\n")
    with pytest.raises(DatasetError, match="line 1.*Curling"):
        parse_ucf101(tmp_path, split_dir=lists)
    (lists / "classInd.txt").write_text("1 Archery\n3 Bowling\n")
    with pytest.raises(DatasetError, match="classInd.txt"):
        parse_ucf101(tmp_path)


def test_parse_hmdb51(tmp_path):
    for clip in ("wave/w1", "wave/w2", "wave/w3", "brush_hair/b1", "brush_hair/b2"):
        touch(tmp_path / "videos" / f"{clip}.avi")
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "wave_test_split1.txt").write_text("w1.avi 1 \nw2.avi 2 \nw3.avi 0 \n")
    (splits / "brush_hair_test_split1.txt").write_text("b1.avi 2\nb2.avi 1\nb9.avi 1\n")
    (splits / "wave_test_split2.txt").write_text("w1.avi 2\n")
    layout = parse_hmdb51(tmp_path / "videos", splits, split=1)
    assert layout.classes == ["brush_hair", "wave"]
    assert [(v.name, v.label, v.split) for v in layout.videos] == [
        ("brush_hair/b1", 0, "test"),
        ("brush_hair/b2", 0, "train"),
        ("wave/w1", 1, "train"),
        ("wave/w2", 1, "test"),
    ]
    assert layout.missing == ["brush_hair/b9"]
    assert [v.name for v in parse_hmdb51(tmp_path / "videos", splits, 2).videos] == [
        "wave/w1"
    ]
    with pytest.raises(DatasetError, match="split3"):
        parse_hmdb51(tmp_path / "videos", splits, 3)
    (splits / "wave_test_split1.txt").write_text("w1.avi 7\n")
    with pytest.raises(DatasetError, match="wave_test_split1.txt, line 1"):
        parse_hmdb51(tmp_path / "videos", splits, 1)


def test_parse_kinetics400(tmp_path):
    videos = tmp_path / "videos"
    touch(videos / "train" / "abseiling" / "aaa_000010_000020.mp4")
    touch(videos / "val" / "bbb_000000_000010.mp4")
    touch(videos / "other" / "ccc.mkv")  # named by youtube id only
    csv_path = tmp_path / "k400.csv"
    csv_path.write_text(
        "label,youtube_id,time_start,time_end,split,is_cc\n"
        "abseiling,aaa,10,20,train,0\n"
        '"air drumming",bbb,0,10,validate,0\n'
        "abseiling,ccc,5,15,train,0\n"
        "zumba,zzz,1,11,train,0\n"
        ",ttt,0,10,test,0\n"
    )
    layout = parse_kinetics400(videos, csv_path)
    assert layout.classes == ["abseiling", "air drumming", "zumba"]
    assert [(v.name, v.label, v.split) for v in layout.videos] == [
        ("abseiling/aaa_000010_000020", 0, "train"),
        ("air_drumming/bbb_000000_000010", 1, "test"),
        ("abseiling/ccc_000005_000015", 0, "train"),
    ]
    assert layout.videos[2].video_path == videos / "other" / "ccc.mkv"
    assert layout.missing == ["zumba/zzz_000001_000011"]
    bad = tmp_path / "bad.csv"
    bad.write_text("label,youtube_id,split\nabseiling,aaa,train\n")
    with pytest.raises(DatasetError, match="bad.csv lacks the column"):
        parse_kinetics400(videos, [csv_path, bad])


# ---------------------------------------------------------------------------
# Partitions
# ---------------------------------------------------------------------------


def test_partition_iid_shuffled():
    partitions = partition_iid_shuffled(10, 3, seed=1)
    assert [len(p) for p in partitions] == [4, 3, 3]
    assert sorted(i for p in partitions for i in p) == list(range(10))
    assert partitions == partition_iid_shuffled(10, 3, seed=1)
    assert partitions != partition_iid_shuffled(10, 3, seed=2)
    assert partitions != [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert all(p == sorted(p) for p in partitions)
    names = [f"n{i}" for i in range(10)]
    named = partition_names(names, "iid-shuffled", 3, seed=1)
    assert named == [[names[i] for i in p] for p in partitions]
    assert {"iid-shuffled", "kinetics-noniid"} <= set(SCHEMES)
    with pytest.raises(DatasetError, match="num-partitions"):
        partition_iid_shuffled(2, 3, seed=0)


def test_partition_kinetics_noniid_properties():
    rng = np.random.default_rng(7)
    sizes = rng.integers(2, 30, size=400)
    labels = rng.permutation(np.repeat(np.arange(400), sizes)).tolist()
    partitions = partition_kinetics_noniid(labels, 100, 8, seed=3)
    assert partitions == partition_kinetics_noniid(labels, 100, 8, seed=3)
    assert len(partitions) == 100
    assert sorted(i for p in partitions for i in p) == list(range(len(labels)))
    order = sorted(range(400), key=lambda c: (sizes[c], c))
    small = set(order[:200])
    appearances = Counter()
    for part in partitions:
        classes = {labels[i] for i in part}
        assert len(classes) == 8
        assert len(classes & small) == 4
        appearances.update(classes)
    assert set(appearances) == set(range(400))
    assert set(appearances.values()) == {2}
    # The two halves of a class differ in size by at most one video.
    for label in range(400):
        counts = [sum(labels[i] == label for i in part) for part in partitions]
        halves = sorted(count for count in counts if count)
        assert halves[1] - halves[0] <= 1 and sum(halves) == sizes[label]


def test_partition_kinetics_noniid_requirements():
    labels = [c for c in range(6) for _ in range(3)]
    with pytest.raises(DatasetError, match="num-partitions \\* classes-per-client"):
        partition_kinetics_noniid(labels, num_partitions=4, classes_per_client=2)
    with pytest.raises(DatasetError, match="classes-per-client"):
        partition_kinetics_noniid(labels, num_partitions=4, classes_per_client=3)
    with pytest.raises(DatasetError, match="class 5"):
        partition_kinetics_noniid(labels[:-2], num_partitions=3, classes_per_client=4)
    names = [f"v{i}" for i in range(len(labels))]
    named = partition_names(
        names,
        "kinetics-noniid",
        6,
        labels=dict(zip(names, labels, strict=True)),
        classes_per_client=2,
    )
    assert sorted(n for part in named for n in part) == sorted(names)
    with pytest.raises(DatasetError, match="needs labels"):
        partition_names(names, "kinetics-noniid", 6)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("codec,suffix", [("mpeg4", ".avi"), ("libx264", ".mp4")])
def test_decode_video_to_frames(tmp_path, codec, suffix):
    video_path = tmp_path / f"tiny{suffix}"
    clip = write_tiny_video(video_path, codec)
    out = tmp_path / "frames" / "cls" / "tiny"
    assert decode_video_to_frames(video_path, out, short_side=None) == 8
    assert sorted(p.name for p in out.iterdir())[:2] == [
        "img_00001.jpg",
        "img_00002.jpg",
    ]
    frames = FrameFolderActionVideo("cls/tiny", 0, out).read_frames(range(8))
    assert frames.shape == (8, 32, 48, 3)
    assert np.abs(frames.astype(int) - clip).mean() < 12
    assert not out.with_name("tiny.partial").exists()
    # Resumable: existing frames are kept, even without the video.
    video_path.unlink()
    assert decode_video_to_frames(video_path, out) == 8


def test_decode_resizes_and_limits_frames(tmp_path):
    video_path = tmp_path / "tiny.avi"
    write_tiny_video(video_path)
    out = tmp_path / "small"
    assert decode_video_to_frames(video_path, out, short_side=16, max_frames=3) == 3
    with Image.open(out / "img_00003.jpg") as image:
        assert image.size == (24, 16)


def test_decode_corrupt_video_names_file(tmp_path):
    video_path = tmp_path / "broken.avi"
    video_path.write_bytes(np.random.default_rng(0).bytes(4000))
    out = tmp_path / "frames" / "broken"
    with pytest.raises(DatasetError, match="broken.avi"):
        decode_video_to_frames(video_path, out)
    assert not out.exists() and not out.with_name("broken.partial").exists()
    with pytest.raises(DatasetError, match="missing.avi"):
        decode_video_to_frames(tmp_path / "missing.avi", out)


def test_annotation_file_is_json_list(tmp_path):
    path = tmp_path / "a.json"
    write_annotation_list(path, [])
    assert json.loads(path.read_text()) == []
