"""``fedvideo prepare mpii --check DIR`` on a small tree in the HRNet/mmpose layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedvideo.cli import main
from fedvideo.tasks.pose.data.folder_check import MPII_PEOPLE, check_mpii


def person(image: str, head_box: bool) -> dict:
    entry = {
        "image": image,
        "center": [40.0, 30.0],
        "scale": 0.5,
        "joints": [[10.0 + 2 * k, 20.0 + k] for k in range(16)],
        "joints_vis": [1] * 16,
    }
    if head_box:
        entry["head_box"] = [10.0, 5.0, 22.0, 19.0]
    return entry


@pytest.fixture
def mpii(tmp_path) -> Path:
    """images/*.jpg and annotations/{train,valid}.json: 3 images, 4 people."""
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    rng = np.random.default_rng(0)
    for name in ("000001.jpg", "000002.jpg", "000003.jpg"):
        pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "images" / name, quality=90)
    splits = {
        "train": [person("000001.jpg", False), person("000001.jpg", False)],
        "valid": [person("000002.jpg", True), person("000003.jpg", True)],
    }
    for split, people in splits.items():
        (tmp_path / "annotations" / f"{split}.json").write_text(json.dumps(people))
    return tmp_path


def test_a_complete_mpii_folder(mpii, capsys):
    check = check_mpii(mpii)
    assert check.problems == []
    assert check.counts == {
        "train people": 2,
        "train images": 1,
        "valid people": 2,
        "valid images": 2,
    }
    assert f"{MPII_PEOPLE['train']:,}" in check.notes[0]  # not the official file
    assert main(["prepare", "mpii", "--check", str(mpii)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("is complete")


def test_a_truncated_mpii_folder(mpii):
    image = mpii / "images" / "000002.jpg"
    image.write_bytes(image.read_bytes()[:400])  # a JPEG cut short
    (mpii / "images" / "000001.jpg").unlink()
    check = check_mpii(mpii)
    assert len(check.problems) == 2
    assert check.problems[0].startswith("1 image(s) named in")
    assert "000001.jpg" in check.problems[0]
    assert str(image) in check.problems[1]
    assert "train people" not in check.counts and check.counts["valid people"] == 2
    assert main(["prepare", "mpii", "--check", str(mpii)]) == 1


def test_mpii_without_annotations_or_head_boxes(mpii):
    (mpii / "annotations" / "train.json").unlink()
    people = [person("000002.jpg", False)]
    (mpii / "annotations" / "valid.json").write_text(json.dumps(people))
    problems = check_mpii(mpii).problems
    assert len(problems) == 2
    assert "train.json" in problems[0]
    assert "head_box" in problems[1] and "gt_valid.mat" in problems[1]
    assert check_mpii(mpii / "absent").problems[0].endswith("does not exist")
