"""Tests for reading MPII in the HRNet/mmpose layout."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.pose.data.datasets import PoseEvalSet, head_size
from fedvideo.tasks.pose.data.mpii import load_mpii


def joints_list(offset: float) -> list[list[float]]:
    return [[10.0 + 3 * k + offset, 20.0 + 2 * k] for k in range(16)]


def entry(image: str, offset: float, scale: float = 0.5, **extra) -> dict:
    value = {
        "image": image,
        "center": [40.0 + offset, 35.0],
        "scale": scale,
        "joints": joints_list(offset),
        "joints_vis": [1] * 14 + [0, 1],
    }
    value.update(extra)
    return value


def write_json(path: Path, entries: list[dict]) -> None:
    path.write_text(json.dumps(entries), encoding="utf-8")


@pytest.fixture
def mpii_root(tmp_path: Path) -> Path:
    """A miniature MPII folder: four JPEGs, two people per split."""
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    for k, name in enumerate(["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]):
        pixels = np.full((60, 80, 3), 40 * k + 30, np.uint8)
        Image.fromarray(pixels).save(tmp_path / "images" / name, quality=95)
    write_json(
        tmp_path / "annotations" / "train.json",
        [entry("000001.jpg", 0.0), entry("000002.jpg", 5.0, scale=0.8)],
    )
    write_json(
        tmp_path / "annotations" / "valid.json",
        [
            entry("000003.jpg", 1.0, head_box=[11.0, 21.0, 23.0, 37.0]),
            entry("000004.jpg", 2.0, head_box=[31.0, 5.0, 41.0, 15.0]),
        ],
    )
    return tmp_path


def test_records_follow_hrnet_conventions(mpii_root):
    train = load_mpii(mpii_root, "train")
    assert len(train) == 2
    first, second = train
    assert first.image == mpii_root / "images" / "000001.jpg"
    np.testing.assert_allclose(first.joints, np.array(joints_list(0.0)) - 1.0)
    np.testing.assert_array_equal(first.visible, [1] * 14 + [0, 1])
    # centre: 1-based -> 0-based, moved down by 15 * scale (before the 1.25)
    np.testing.assert_allclose(first.center, [39.0, 35.0 + 15 * 0.5 - 1.0])
    np.testing.assert_allclose(second.center, [44.0, 35.0 + 15 * 0.8 - 1.0])
    assert first.box_height == pytest.approx(0.5 * 1.25 * 200)
    assert second.box_height == pytest.approx(0.8 * 1.25 * 200)
    assert np.isnan(first.head_box).all() and math.isnan(head_size(first.head_box))
    assert first.load_image().shape == (60, 80, 3)

    valid = load_mpii(str(mpii_root), "valid")
    np.testing.assert_allclose(valid[0].head_box, [10.0, 20.0, 22.0, 36.0])
    assert head_size(valid[0].head_box) == pytest.approx(0.6 * math.hypot(12, 16))
    assert head_size(valid[1].head_box) == pytest.approx(0.6 * math.hypot(10, 10))


def test_eval_set_reads_images_from_disk(mpii_root):
    dataset = PoseEvalSet(load_mpii(mpii_root, "valid"), (64, 48))
    item = dataset[1]
    assert item["image"].shape == (3, 64, 48)
    assert item["head_size"].item() == pytest.approx(0.6 * math.hypot(10, 10))


def test_missing_folder_split_and_annotation_file(tmp_path, mpii_root):
    with pytest.raises(DatasetError, match="nowhere"):
        load_mpii(tmp_path / "nowhere", "train")
    with pytest.raises(DatasetError, match="split"):
        load_mpii(mpii_root, "test")
    (mpii_root / "annotations" / "train.json").unlink()
    with pytest.raises(DatasetError, match="train.json"):
        load_mpii(mpii_root, "train")
    (mpii_root / "annotations" / "valid.json").write_text("{not json")
    with pytest.raises(DatasetError, match="valid.json"):
        load_mpii(mpii_root, "valid")


def test_missing_images_are_reported(mpii_root):
    entries = [entry("000001.jpg", 0.0)] + [
        entry(f"gone{k}.jpg", 0.0) for k in range(7)
    ]
    write_json(mpii_root / "annotations" / "train.json", entries)
    with pytest.raises(DatasetError, match="7 image") as error:
        load_mpii(mpii_root, "train")
    message = str(error.value)
    assert "gone0.jpg" in message and "gone4.jpg" in message
    assert "gone6.jpg" not in message and "2 more" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"joints": joints_list(0.0)[:15]}, r"entry 1 .*'joints'.*\(16, 2\)"),
        ({"joints_vis": [1] * 17}, r"entry 1 .*'joints_vis'"),
        ({"center": [1.0]}, r"entry 1 .*'center'"),
        ({"scale": "big"}, r"entry 1 .*'scale'"),
        ({"scale": 0.0}, r"entry 1 .*'scale' must be > 0"),
        ({"head_box": [1, 2, 3]}, r"entry 1 .*'head_box'"),
        ({"image": 5}, r"entry 1 .*'image'"),
    ],
)
def test_malformed_entries_name_index_and_key(mpii_root, change, expected):
    write_json(
        mpii_root / "annotations" / "train.json",
        [entry("000001.jpg", 0.0), {**entry("000002.jpg", 0.0), **change}],
    )
    with pytest.raises(DatasetError, match=expected):
        load_mpii(mpii_root, "train")


def test_missing_keys_and_wrong_types(mpii_root):
    broken = entry("000001.jpg", 0.0)
    del broken["scale"]
    write_json(
        mpii_root / "annotations" / "train.json", [entry("000002.jpg", 0), broken]
    )
    with pytest.raises(
        DatasetError, match=r"entry 1 of .*train.json has no key 'scale'"
    ):
        load_mpii(mpii_root, "train")
    write_json(mpii_root / "annotations" / "train.json", [["not", "a", "dict"]])
    with pytest.raises(DatasetError, match="entry 0"):
        load_mpii(mpii_root, "train")
    write_json(mpii_root / "annotations" / "train.json", {"image": "x"})  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="list"):
        load_mpii(mpii_root, "train")


def test_valid_split_needs_head_boxes(mpii_root):
    write_json(
        mpii_root / "annotations" / "valid.json",
        [entry("000003.jpg", 0.0), entry("000004.jpg", 0.0)],
    )
    with pytest.raises(DatasetError, match="gt_valid.mat"):
        load_mpii(mpii_root, "valid")


def test_head_boxes_from_gt_valid_mat(mpii_root):
    scipy_io = pytest.importorskip("scipy.io")
    write_json(
        mpii_root / "annotations" / "valid.json",
        [
            entry("000003.jpg", 0.0),
            entry("000004.jpg", 0.0, head_box=[1.0, 1.0, 5.0, 4.0]),
            entry("000001.jpg", 0.0),
        ],
    )
    boxes = np.zeros((2, 2, 3))
    boxes[0, :, 0], boxes[1, :, 0] = [11, 21], [23, 37]  # (x1, y1), (x2, y2)
    boxes[0, :, 1], boxes[1, :, 1] = [50, 50], [60, 60]  # overridden by the entry
    boxes[0, :, 2], boxes[1, :, 2] = [2, 3], [8, 11]
    mat = mpii_root / "annotations" / "gt_valid.mat"
    scipy_io.savemat(str(mat), {"headboxes_src": boxes})
    valid = load_mpii(mpii_root, "valid")
    np.testing.assert_allclose(valid[0].head_box, [10, 20, 22, 36])
    np.testing.assert_allclose(valid[1].head_box, [0, 0, 4, 3])
    np.testing.assert_allclose(valid[2].head_box, [1, 2, 7, 10])
    assert head_size(valid[0].head_box) == pytest.approx(0.6 * 20.0)
    # the training split ignores gt_valid.mat
    assert np.isnan(load_mpii(mpii_root, "train")[0].head_box).all()

    scipy_io.savemat(str(mat), {"headboxes_src": boxes[..., :2]})
    with pytest.raises(DatasetError, match=r"\(2, 2, 3\)"):
        load_mpii(mpii_root, "valid")
    scipy_io.savemat(str(mat), {"other": boxes})
    with pytest.raises(DatasetError, match="headboxes_src"):
        load_mpii(mpii_root, "valid")


def test_written_split_reads_back_as_the_same_records(tmp_path):
    from fedvideo.tasks.pose.data.mpii import write_mpii_split
    from fedvideo.tasks.pose.data.synthetic import synthetic_pose_records

    records = synthetic_pose_records(seed=3, num_images=3, image_size=64)
    write_mpii_split(records, tmp_path, "valid")
    loaded = load_mpii(tmp_path, "valid")
    assert len(loaded) == 3
    for original, back in zip(records, loaded, strict=True):
        np.testing.assert_allclose(back.joints, original.joints, atol=1e-4)
        np.testing.assert_allclose(back.center, original.center, atol=1e-4)
        np.testing.assert_allclose(back.head_box, original.head_box, atol=1e-4)
        np.testing.assert_array_equal(back.visible, original.visible)
        assert back.box_height == pytest.approx(original.box_height)
        np.testing.assert_array_equal(back.load_image(), original.load_image())
