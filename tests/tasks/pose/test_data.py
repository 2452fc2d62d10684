"""Tests for the pose records, crop geometry, heatmap targets and datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import default_collate

from fedvideo.data.errors import DatasetError
from fedvideo.tasks.pose.data.datasets import (
    FLIP_PAIRS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MPII_JOINTS,
    PoseAugment,
    PoseEvalSet,
    PoseRecord,
    PoseTrainSet,
    crop_matrix,
    flip_joints,
    gaussian_heatmaps,
    head_size,
    heatmap_matrix,
    invert_affine,
    sample_augment,
    to_tensor_image,
    transform_points,
    warp_image,
)

RESOLUTIONS = [(256, 192), (192, 144), (128, 96)]


def quarter(height: int, width: int) -> tuple[int, int]:
    return height // 4, width // 4


def blob_image(height: int, width: int, x: float, y: float, sigma: float = 2.5):
    """A black RGB image with one bright Gaussian dot centred at (x, y)."""
    rows, cols = np.mgrid[:height, :width]
    dot = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2))
    return np.repeat((255 * dot).round().astype(np.uint8)[..., None], 3, axis=2)


def centroid(values: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre ``x, y`` of a 2-D array."""
    rows, cols = np.mgrid[: values.shape[0], : values.shape[1]]
    total = values.sum()
    return np.array([(values * cols).sum() / total, (values * rows).sum() / total])


def unnormalised(image: torch.Tensor) -> np.ndarray:
    """The red channel of a normalised image tensor, back in [0, 1]."""
    return image[0].numpy() * IMAGENET_STD[0] + IMAGENET_MEAN[0]


def brightest(values: np.ndarray) -> np.ndarray:
    """``x, y`` of the largest entry of a 2-D array."""
    row, col = np.unravel_index(np.argmax(values), values.shape)
    return np.array([col, row], dtype=np.float64)


def make_record(image: np.ndarray, joints: np.ndarray, **kwargs) -> PoseRecord:
    fields = {
        "visible": np.ones(16, np.float32),
        "center": np.array([150.0, 130.0]),
        "box_height": 200.0,
        "head_box": np.array([140.0, 40.0, 160.0, 64.0]),
    }
    fields.update(kwargs)
    return PoseRecord(image=image, joints=joints, **fields)


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def test_joint_tables():
    assert len(MPII_JOINTS) == 16 and MPII_JOINTS[0] == "r_ankle"
    assert MPII_JOINTS[9] == "head_top" and MPII_JOINTS[15] == "l_wrist"
    for right, left in FLIP_PAIRS:
        assert MPII_JOINTS[right][:2] == "r_" and MPII_JOINTS[left][:2] == "l_"
        assert MPII_JOINTS[right][2:] == MPII_JOINTS[left][2:]


def test_crop_matrix_maps_the_box_onto_the_crop():
    center, box = np.array([120.0, 90.0]), 160.0
    for height, width in RESOLUTIONS:
        matrix = crop_matrix(center, box, (height, width))
        points = np.array(
            [center, center - [0, box / 2], center + [box * width / height / 2, 0]]
        )
        mapped = transform_points(points, matrix)
        np.testing.assert_allclose(mapped[0], [(width - 1) / 2, (height - 1) / 2])
        assert mapped[1, 1] == pytest.approx(-0.5)  # top edge of the box
        assert mapped[2, 0] == pytest.approx(width - 0.5)  # right edge
    # zooming out by 2 halves distances from the centre
    near = crop_matrix(center, box, (256, 192))
    far = crop_matrix(center, box, (256, 192), PoseAugment(scale=2.0))
    point = np.array([[150.0, 40.0]])
    mid = np.array([95.5, 127.5])
    np.testing.assert_allclose(
        transform_points(point, far) - mid, (transform_points(point, near) - mid) / 2
    )


def test_rotation_turns_the_content_counter_clockwise():
    matrix = crop_matrix([100.0, 100.0], 100.0, (100, 100), PoseAugment(rotation=90))
    right_of_centre = transform_points(np.array([[120.0, 100.0]]), matrix)[0]
    # on screen, a point right of the centre ends up above it (smaller y)
    np.testing.assert_allclose(right_of_centre, [49.5, 49.5 - 20.0], atol=1e-9)
    # Pillow's counter-clockwise rotation agrees with the warp
    image = blob_image(200, 200, 130.0, 100.0)
    warped = warp_image(image, matrix, (100, 100))[..., 0]
    expected = np.asarray(Image.fromarray(image).rotate(90))[50:150, 50:150, 0]
    np.testing.assert_allclose(brightest(warped), brightest(expected), atol=1)


@pytest.mark.parametrize("rotation", [0.0, 30.0, -70.0])
@pytest.mark.parametrize("scale", [0.75, 1.3])
def test_warp_and_point_transform_agree(rotation, scale):
    dot = np.array([151.3, 97.6])
    image = blob_image(240, 320, *dot)
    augment = PoseAugment(rotation=rotation, scale=scale)
    # sizes from upscaling (256) to shrinking by more than 2 and 4 (64, 32)
    for size in [(256, 192), (128, 96), (64, 48), (32, 24)]:
        matrix = crop_matrix([160.0, 120.0], 180.0, size, augment)
        warped = warp_image(image, matrix, size)
        assert warped.shape == (*size, 3) and warped.dtype == np.uint8
        expected = transform_points(dot[None], matrix)[0]
        values = warped[..., 0].astype(np.float64)
        assert np.abs(brightest(values) - expected).max() <= 1.0
        assert np.abs(centroid(values) - expected).max() < 0.5


def test_warp_covers_region_outside_the_image_with_black():
    image = np.full((50, 60, 3), 200, np.uint8)
    inside = warp_image(image, crop_matrix([30, 25], 40, (40, 30)), (40, 30))
    assert (inside == 200).all()
    outside = warp_image(image, crop_matrix([500, 500], 40, (40, 30)), (40, 30))
    assert outside.shape == (40, 30, 3) and not outside.any()
    edge = warp_image(image, crop_matrix([0, 25], 40, (40, 30)), (40, 30))
    assert not edge[:, :10].any() and (edge[:, 20:] == 200).all()


def test_warp_antialiases_strong_downscaling():
    # one-pixel stripes average to grey instead of aliasing into a pattern
    image = np.zeros((400, 400, 3), np.uint8)
    image[:, ::2] = 255
    crop = warp_image(image, crop_matrix([200, 200], 400, (40, 40)), (40, 40))
    assert np.abs(crop[2:-2, 2:-2].astype(float) - 127.5).max() < 20


def test_invert_affine_round_trip():
    rng = np.random.default_rng(0)
    matrix = crop_matrix([80.0, 60.0], 123.0, (128, 96), PoseAugment(25.0, 1.2))
    inverse = invert_affine(matrix)
    points = rng.uniform(0, 200, size=(20, 2))
    back = transform_points(transform_points(points, matrix), inverse)
    np.testing.assert_allclose(back, points, atol=1e-9)
    np.testing.assert_allclose(invert_affine(inverse), matrix, atol=1e-12)


def test_heatmap_matrix_aligns_pixel_edges():
    matrix = heatmap_matrix((256, 192), (64, 48))
    edges = transform_points(np.array([[-0.5, -0.5], [191.5, 255.5]]), matrix)
    np.testing.assert_allclose(edges, [[-0.5, -0.5], [47.5, 63.5]])
    # mirroring in the crop is mirroring in the heatmap
    point = np.array([[37.2, 11.0]])
    flipped_first = transform_points(flip_joints_point(point, 192), matrix)
    np.testing.assert_allclose(
        flipped_first, flip_joints_point(transform_points(point, matrix), 48)
    )


def flip_joints_point(point: np.ndarray, width: int) -> np.ndarray:
    return np.stack([width - 1 - point[:, 0], point[:, 1]], axis=1)


def test_flip_joints():
    rng = np.random.default_rng(1)
    joints = rng.uniform(0, 100, size=(16, 2))
    visible = (rng.random(16) < 0.5).astype(np.float32)
    flipped, flipped_visible = flip_joints(joints, visible, 100)
    for right, left in FLIP_PAIRS:
        np.testing.assert_allclose(
            flipped[right], [99 - joints[left, 0], joints[left, 1]]
        )
        assert flipped_visible[right] == visible[left]
        assert flipped_visible[left] == visible[right]
    for middle in (6, 7, 8, 9):
        np.testing.assert_allclose(
            flipped[middle], [99 - joints[middle, 0], joints[middle, 1]]
        )
    again, again_visible = flip_joints(flipped, flipped_visible, 100)
    np.testing.assert_allclose(again, joints)
    np.testing.assert_array_equal(again_visible, visible)
    # the arguments are not modified
    assert not np.array_equal(flipped, joints)


def test_flip_matches_mirrored_crop():
    dot = np.array([130.4, 101.7])
    image = blob_image(200, 260, *dot)
    matrix = crop_matrix([128.0, 100.0], 150.0, (128, 96), PoseAugment(20.0, 1.1))
    crop = warp_image(image, matrix, (128, 96))[:, ::-1, 0].astype(np.float64)
    joints = np.zeros((16, 2))
    joints[10] = transform_points(dot[None], matrix)[0]
    flipped, _ = flip_joints(joints, np.ones(16), 96)
    assert np.abs(centroid(crop) - flipped[15]).max() < 0.5


# ---------------------------------------------------------------------------
# Heatmaps
# ---------------------------------------------------------------------------


def test_gaussian_heatmaps_peak_and_sigma():
    joints = np.zeros((16, 2))
    joints[:] = [10.0, 12.0]
    joints[1] = [12.3, 15.6]
    visible = np.ones(16)
    heatmaps, weights = gaussian_heatmaps(joints, visible, (32, 24), sigma=2.0)
    assert heatmaps.shape == (16, 32, 24) and heatmaps.dtype == np.float32
    assert weights.dtype == np.float32 and (weights == 1).all()
    assert heatmaps[0, 12, 10] == pytest.approx(1.0)
    assert tuple(brightest(heatmaps[0])) == (10, 12)
    assert heatmaps[0, 12, 12] == pytest.approx(math.exp(-1.0 / 2.0))  # 1 sigma
    assert heatmaps[0, 14, 12] == pytest.approx(math.exp(-2.0 / 2.0))
    sigma3, _ = gaussian_heatmaps(joints[:1], visible[:1], (32, 24), sigma=3.0)
    assert sigma3[0, 12, 13] == pytest.approx(math.exp(-0.5))
    # a sub-pixel joint: the peak is at the nearest pixel, the centre exact
    assert tuple(brightest(heatmaps[1])) == (12, 16)
    assert heatmaps[1].max() < 1.0
    np.testing.assert_allclose(centroid(heatmaps[1]), [12.3, 15.6], atol=0.01)


def test_gaussian_heatmaps_weights():
    joints = np.array(
        [
            [-5.9, 10.0],
            [-6.1, 10.0],
            [10.0, 36.9],
            [10.0, 37.1],
            [5.0, 5.0],
            [np.nan, np.nan],
            [30.0, 30.0],
        ]
    )
    visible = np.array([1, 1, 1, 1, 0, 1, 1], np.float32)
    heatmaps, weights = gaussian_heatmaps(joints, visible, (32, 24), sigma=2.0)
    np.testing.assert_array_equal(weights, [1, 0, 1, 0, 0, 0, 0])
    assert heatmaps[0].max() > 0 and heatmaps[2].max() > 0
    assert not heatmaps[[1, 3, 4, 5, 6]].any()
    assert np.isfinite(heatmaps).all()


def test_to_tensor_image():
    image = np.zeros((4, 5, 3), np.uint8)
    image[..., 1] = 255
    tensor = to_tensor_image(image)
    assert tensor.shape == (3, 4, 5) and tensor.dtype == torch.float32
    assert tensor[0, 0, 0] == pytest.approx(-IMAGENET_MEAN[0] / IMAGENET_STD[0])
    assert tensor[1, 3, 4] == pytest.approx((1 - IMAGENET_MEAN[1]) / IMAGENET_STD[1])


# ---------------------------------------------------------------------------
# Records and augmentation
# ---------------------------------------------------------------------------


def test_record_validation_and_loading(tmp_path):
    joints = np.zeros((16, 2))
    record = make_record(np.zeros((8, 9, 3), np.uint8), joints)
    assert record.joints.dtype == np.float32 and record.center.dtype == np.float32
    assert record.load_image().shape == (8, 9, 3)
    assert head_size(record.head_box) == pytest.approx(0.6 * math.hypot(20, 24))
    assert math.isnan(head_size(np.full(4, np.nan)))
    with pytest.raises(DatasetError, match="joints"):
        make_record(np.zeros((8, 9, 3), np.uint8), np.zeros((15, 2)))
    with pytest.raises(DatasetError, match="uint8"):
        make_record(np.zeros((8, 9, 3), np.float32), joints)

    Image.fromarray(np.full((6, 7), 90, np.uint8)).save(tmp_path / "grey.png")
    grey = make_record(tmp_path / "grey.png", joints).load_image()
    assert grey.shape == (6, 7, 3) and (grey == 90).all()
    missing = make_record(str(tmp_path / "none.jpg"), joints)
    with pytest.raises(FileNotFoundError, match="none.jpg"):
        missing.load_image()
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        make_record(tmp_path / "broken.jpg", joints).load_image()


def test_record_verify_names_a_missing_or_broken_image(tmp_path):
    joints = np.zeros((16, 2))
    make_record(np.zeros((8, 9, 3), np.uint8), joints).verify()
    Image.fromarray(np.full((6, 7), 90, np.uint8)).save(tmp_path / "grey.png")
    make_record(tmp_path / "grey.png", joints).verify()
    for name, content in (("none.jpg", None), ("broken.jpg", b"not an image")):
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(DatasetError, match=name):
            make_record(tmp_path / name, joints).verify()


def test_sample_augment_ranges():
    rng = np.random.default_rng(3)
    draws = [sample_augment(rng) for _ in range(2000)]
    scales = np.array([d.scale for d in draws])
    rotations = np.array([d.rotation for d in draws])
    assert scales.min() >= 0.75 and scales.max() <= 1.25 and scales.std() > 0.15
    assert np.abs(rotations).max() <= 30.0
    assert 0.35 < (rotations == 0).mean() < 0.45
    assert 0.45 < np.mean([d.flip for d in draws]) < 0.55
    assert sample_augment(rng, 0.0, 0.0, 1.0, 0.0) == PoseAugment()


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dot_record():
    """A record whose right wrist is a bright dot; other joints spread around."""
    rng = np.random.default_rng(5)
    joints = np.array([150.0, 130.0]) + rng.uniform(-40, 40, size=(16, 2))
    joints[10] = [163.4, 118.2]
    image = blob_image(260, 300, *joints[10], sigma=3.0)
    return make_record(image, joints)


def test_train_set_shapes_and_alignment_across_resolutions(dot_record):
    dataset = PoseTrainSet([dot_record] * 3, RESOLUTIONS, quarter, seed=0)
    assert len(dataset) == 3
    flips = set()
    for epoch in range(4):
        dataset.set_epoch(epoch)
        for index in range(3):
            augment = dataset.draw_augment(index)
            flips.add(augment.flip)
            wrist = 15 if augment.flip else 10
            item = dataset[index]
            assert set(item) == {"images", "targets", "weights"}
            normalised = []
            for r, (height, width) in enumerate(RESOLUTIONS):
                image, target = item["images"][r], item["targets"][r]
                assert image.shape == (3, height, width)
                assert target.shape == (16, height // 4, width // 4)
                assert item["weights"][r].shape == (16,)
                assert item["weights"][r][wrist] == 1
                # the heatmap centre, back in input pixels, is at the dot
                to_input = invert_affine(
                    heatmap_matrix((height, width), target.shape[1:])
                )
                peak = transform_points(
                    centroid(target[wrist].numpy())[None], to_input
                )[0]
                assert np.abs(centroid(unnormalised(image)) - peak).max() < 1.0
                arg = transform_points(brightest(target[wrist].numpy())[None], to_input)
                normalised.append((arg[0] + 0.5) / [width, height])
            # argmax positions agree within a pixel of the low-res heatmap grid
            low = np.array([96 // 4, 128 // 4])
            for other in normalised[:-1]:
                assert np.abs((other - normalised[-1]) * low).max() <= 1.0
    assert flips == {True, False}


def test_train_copies_are_warped_from_the_original(dot_record):
    dataset = PoseTrainSet([dot_record], RESOLUTIONS, quarter, seed=4)
    for epoch in range(3):
        dataset.set_epoch(epoch)
        augment = dataset.draw_augment(0)
        item = dataset[0]
        for r, size in enumerate(RESOLUTIONS):
            matrix = crop_matrix(
                dot_record.center, dot_record.box_height, size, augment
            )
            expected = warp_image(dot_record.image, matrix, size)
            if augment.flip:
                expected = expected[:, ::-1]
            torch.testing.assert_close(item["images"][r], to_tensor_image(expected))


def test_train_set_is_deterministic_in_seed_epoch_and_index(dot_record):
    first = PoseTrainSet([dot_record] * 2, RESOLUTIONS[2:], quarter, seed=7)
    again = PoseTrainSet([dot_record] * 2, RESOLUTIONS[2:], quarter, seed=7)
    other = PoseTrainSet([dot_record] * 2, RESOLUTIONS[2:], quarter, seed=8)
    a, b = first[1], again[1]
    torch.testing.assert_close(a, b)
    assert not torch.equal(first[0]["images"][0], a["images"][0])  # index matters
    assert not torch.equal(other[1]["images"][0], a["images"][0])  # seed matters
    first.set_epoch(1)
    assert not torch.equal(first[1]["images"][0], a["images"][0])  # epoch matters
    first.set_epoch(0)
    torch.testing.assert_close(first[1], a)


def test_train_set_without_augmentation_and_settings(dot_record):
    dataset = PoseTrainSet(
        [dot_record],
        RESOLUTIONS,
        lambda h, w: (h // 2, w // 2),
        seed=0,
        augment=False,
        sigma=[3.0, 2.0, 1.0],
    )
    assert dataset.draw_augment(0) == PoseAugment()
    item = dataset[0]
    assert [tuple(t.shape[1:]) for t in item["targets"]] == [
        (128, 96),
        (96, 72),
        (64, 48),
    ]
    with pytest.raises(DatasetError, match="sigma"):
        PoseTrainSet([dot_record], RESOLUTIONS, quarter, seed=0, sigma=[2.0])
    with pytest.raises(DatasetError, match="resolution"):
        PoseTrainSet([dot_record], [], quarter, seed=0)


def test_default_collate_gives_lists_of_batches(dot_record):
    dataset = PoseTrainSet([dot_record] * 2, RESOLUTIONS, quarter, seed=0)
    batch = default_collate([dataset[0], dataset[1]])
    assert len(batch["images"]) == len(batch["targets"]) == 3
    for r, (height, width) in enumerate(RESOLUTIONS):
        assert batch["images"][r].shape == (2, 3, height, width)
        assert batch["targets"][r].shape == (2, 16, height // 4, width // 4)
        assert batch["weights"][r].shape == (2, 16)


def test_eval_set(dot_record):
    dataset = PoseEvalSet([dot_record], (128, 96))
    item = dataset[0]
    assert item["image"].shape == (3, 128, 96)
    assert item["crop_to_image"].shape == (2, 3)
    matrix = crop_matrix(dot_record.center, dot_record.box_height, (128, 96))
    crop_joints = transform_points(dot_record.joints, matrix)
    back = transform_points(crop_joints, item["crop_to_image"].numpy())
    np.testing.assert_allclose(back, dot_record.joints, atol=1e-4)
    torch.testing.assert_close(
        item["joints"], torch.from_numpy(dot_record.joints.copy())
    )
    assert item["visible"].shape == (16,)
    assert item["head_size"].item() == pytest.approx(head_size(dot_record.head_box))
    # the crop shows the dot where crop_to_image says the wrist is
    dot = centroid(unnormalised(item["image"]))
    np.testing.assert_allclose(
        transform_points(dot[None], item["crop_to_image"].numpy())[0],
        dot_record.joints[10],
        atol=1.5,
    )
    batch = default_collate([item, item])
    assert batch["head_size"].shape == (2,) and batch["joints"].shape == (2, 16, 2)
