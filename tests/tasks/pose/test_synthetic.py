"""Tests for the embedded synthetic pose data."""

from __future__ import annotations

import numpy as np
import pytest

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.pose.data.datasets import (
    FLIP_PAIRS,
    PoseEvalSet,
    crop_matrix,
    head_size,
    transform_points,
)
from fedvideo.tasks.pose.data.synthetic import (
    JOINT_PARTS,
    OCCLUDER_LABEL,
    PART_COLOURS,
    synthetic_pose_figure,
    synthetic_pose_records,
)

SEED = 11
COUNT = 120


@pytest.fixture(scope="module")
def figures():
    # 120 figures also serve as a speed sanity check (about 0.6 s)
    return [synthetic_pose_figure(SEED, i) for i in range(COUNT)]


def test_records_are_deterministic_and_seeds_differ(figures):
    records = synthetic_pose_records(SEED, 4)
    other = synthetic_pose_records(SEED + 1, 4)
    assert len(records) == 4
    for k, record in enumerate(records):
        same = figures[k].record
        assert record.image.shape == (256, 256, 3) and record.image.dtype == np.uint8
        assert np.array_equal(record.image, same.image)
        for name in ("joints", "visible", "center", "head_box"):
            assert np.array_equal(getattr(record, name), getattr(same, name))
        assert record.box_height == same.box_height
        assert not np.array_equal(record.image, other[k].image)
        assert not np.array_equal(record.joints, other[k].joints)
    assert synthetic_pose_records(SEED, 0) == []
    small = synthetic_pose_records(SEED, 2, image_size=96)
    assert small[1].image.shape == (96, 96, 3)
    with pytest.raises(DatasetError, match="num_images"):
        synthetic_pose_records(SEED, -1)


def test_pixels_at_visible_joints_have_their_limb_colour(figures):
    checked = 0
    for figure in figures:
        record = figure.record
        for k in np.flatnonzero(record.visible):
            x, y = np.round(record.joints[k]).astype(int)
            colour = tuple(int(c) for c in record.image[y, x])
            assert colour in {PART_COLOURS[part] for part in JOINT_PARTS[k]}
            checked += 1
    assert checked > 0.8 * 16 * len(figures)


def test_left_and_right_parts_have_distinct_colours():
    colours = list(PART_COLOURS.values())
    assert len(set(colours)) == len(colours)
    for right, left in FLIP_PAIRS:
        right_parts = set(JOINT_PARTS[right]) - {"torso"}
        left_parts = set(JOINT_PARTS[left]) - {"torso"}
        assert right_parts and left_parts
        assert all(p.startswith("r_") for p in right_parts)
        assert all(p.startswith("l_") for p in left_parts)


def test_background_never_has_figure_colours(figures):
    colours = np.array(list(PART_COLOURS.values()))
    for figure in figures[:20]:
        image, labels = figure.record.image, figure.labels
        background = image[labels == 0]
        matches = (background[:, None, :] == colours[None]).all(axis=2)
        assert not matches.any()


def test_visibility_outside_the_image_and_under_the_occluder(figures):
    outside = occluded = 0
    for figure in figures:
        record = figure.record
        out = np.any((record.joints < -0.5) | (record.joints >= 255.5), axis=1)
        assert not record.visible[out].any()
        outside += int(out.sum())
        if figure.occluder is not None:
            x1, y1, x2, y2 = figure.occluder
            pixel = np.round(record.joints).astype(int)
            under = (
                (pixel[:, 0] >= x1)
                & (pixel[:, 0] <= x2)
                & (pixel[:, 1] >= y1)
                & (pixel[:, 1] <= y2)
            )
            assert not record.visible[under].any()
            assert (figure.labels[y1 + 1 : y2, x1 + 1 : x2] == OCCLUDER_LABEL).all()
            occluded += int((under & ~out).sum())
    assert outside > 0 and occluded > 0
    with_occluder = sum(f.occluder is not None for f in figures)
    assert 0.08 * COUNT < with_occluder < 0.35 * COUNT


def test_head_box_contains_head_top_and_neck(figures):
    for figure in figures:
        record = figure.record
        x1, y1, x2, y2 = record.head_box
        assert x2 - x1 == pytest.approx(y2 - y1, rel=1e-4)  # square
        neck, top = record.joints[8], record.joints[9]
        side = float(np.hypot(*(top - neck)))
        assert x2 - x1 == pytest.approx(side, rel=1e-4)
        for x, y in (neck, top):
            assert x1 - 1e-3 <= x <= x2 + 1e-3 and y1 - 1e-3 <= y <= y2 + 1e-3
        assert head_size(record.head_box) > 0


def test_person_sizes_and_crop_covers_figure(figures):
    heights = []
    inside = 0
    for figure in figures:
        record = figure.record
        low, high = record.joints.min(axis=0), record.joints.max(axis=0)
        np.testing.assert_allclose(record.center, (low + high) / 2, atol=1e-3)
        heights.append(record.box_height / 1.25)
        crop = transform_points(
            record.joints, crop_matrix(record.center, record.box_height, (256, 192))
        )
        in_crop = (crop >= -0.5).all() and (crop[:, 0] <= 191.5).all()
        inside += bool(in_crop and (crop[:, 1] <= 255.5).all())
        # the joints span 1/1.25 of the 4:3 crop along its tighter side
        extent = (crop.max(axis=0) - crop.min(axis=0)) / [192, 256]
        assert extent.max() == pytest.approx(0.8, rel=1e-4)
    assert inside == len(figures)
    heights = np.array(heights)
    assert heights.min() > 0.2 * 256 and heights.max() < 1.0 * 256
    assert heights.std() > 10  # varied sizes


def test_poses_are_varied(figures):
    # angle of the right forearm and of the left shin vary over the figures
    def angles(a: int, b: int) -> np.ndarray:
        vectors = np.array([f.record.joints[b] - f.record.joints[a] for f in figures])
        return np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0]))

    assert angles(11, 10).std() > 45
    assert angles(4, 5).std() > 20
    # right is on the image's left for some figures and on its right for others
    right_on_left = [f.record.joints[12, 0] < f.record.joints[13, 0] for f in figures]
    assert 0.25 < np.mean(right_on_left) < 0.75


def test_eval_set_on_synthetic_records(figures):
    dataset = PoseEvalSet([f.record for f in figures[:2]], (128, 96))
    item = dataset[1]
    assert item["image"].shape == (3, 128, 96)
    assert item["head_size"].item() > 0
