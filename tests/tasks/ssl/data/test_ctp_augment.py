"""Tests for the Catch-the-Patch augmentation (fedvideo.tasks.ssl.data.ctp_augment)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fedvideo.tasks.ssl.data.clips import IMAGENET_MEAN
from fedvideo.tasks.ssl.data.ctp_augment import (
    FLAT_BACKGROUND,
    TRAJECTORIES,
    CtPAugmentSettings,
    _resize_bilinear,
    _round_boxes,
    interpolate_key_frames,
    interpolate_settings,
    paste_moving_patches,
    patch_mask,
    sample_key_frames,
    sample_trajectory,
)

FRAME_SIZES = [(64, 64), (112, 112), (32, 32), (48, 80), (96, 40)]
#: One opaque, hard-edged rectangle pasted on every frame.
PLAIN = CtPAugmentSettings(
    num_patches=1,
    paste_prob=1.0,
    opacity_range=(1.0, 1.0),
    shape_probs=(1.0, 0.0, 0.0),
    soft_edge_prob=0.0,
)


# ------------------------------------------------------------------ key frames
def test_key_frames_hand_cases() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        np.testing.assert_array_equal(sample_key_frames(16, (1.0,), rng), [0, 15])
        # One inner key frame at 8, jittered by {-2, ..., 1}.
        keys = sample_key_frames(16, (0.0, 1.0), rng)
        assert len(keys) == 3 and keys[0] == 0 and keys[2] == 15 and 6 <= keys[1] <= 9
        # Two at 5 and 10, jittered by {-1, 0}.
        keys = sample_key_frames(16, (0.0, 0.0, 1.0), rng)
        assert keys[0] == 0 and keys[-1] == 15
        assert keys[1] in (4, 5) and keys[2] in (9, 10)
    np.testing.assert_array_equal(sample_key_frames(1, (0.5, 0.5), rng), [0])
    np.testing.assert_array_equal(sample_key_frames(2, (0.0, 1.0), rng), [0, 1])
    with pytest.raises(ValueError, match="num_frames"):
        sample_key_frames(0, (1.0,), rng)


def test_key_frame_counts_follow_their_probabilities() -> None:
    rng = np.random.default_rng(1)
    counts = np.bincount(
        [len(sample_key_frames(16, (0.5, 0.3, 0.2), rng)) - 2 for _ in range(4000)],
        minlength=3,
    )
    np.testing.assert_allclose(counts / 4000, [0.5, 0.3, 0.2], atol=0.03)


def test_interpolation_hand_cases() -> None:
    values, keys = np.array([0.0, 5.0]), np.array([0, 10])
    np.testing.assert_allclose(
        interpolate_key_frames(values, keys, ["uniform"]), np.arange(11) * 0.5
    )
    np.testing.assert_allclose(
        interpolate_key_frames(values, keys, ["accelerate"]),
        [0, 0.05, 0.2, 0.45, 0.8, 1.25, 1.8, 2.45, 3.2, 4.05, 5.0],
    )
    np.testing.assert_allclose(
        interpolate_key_frames(values, keys, ["decelerate"]),
        [0, 0.95, 1.8, 2.55, 3.2, 3.75, 4.2, 4.55, 4.8, 4.95, 5.0],
    )
    # Several segments and vector values: each segment joins its key values.
    vectors = np.array([[0.0, 10.0], [4.0, 6.0], [4.0, 0.0]])
    out = interpolate_key_frames(
        vectors, np.array([0, 2, 5]), ["uniform", "accelerate"]
    )
    assert out.shape == (6, 2)
    np.testing.assert_allclose(out[[0, 2, 5]], vectors)
    np.testing.assert_allclose(out[1], [2.0, 8.0])
    np.testing.assert_allclose(out[3], [4.0, 6.0 - 6.0 / 9])


def test_interpolation_errors() -> None:
    with pytest.raises(ValueError, match="one kind per segment"):
        interpolate_key_frames(np.zeros(2), np.array([0, 4]), [])
    with pytest.raises(ValueError, match="start at 0 and increase"):
        interpolate_key_frames(np.zeros(2), np.array([1, 4]), ["uniform"])
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate_key_frames(np.zeros(2), np.array([0, 4]), ["jerk"])


# ---------------------------------------------------------------- trajectories
def _trajectory_statistics(size: int, draws: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    boxes = np.stack(
        [
            _round_boxes(sample_trajectory(16, (size, size), rng), size, size)
            for _ in range(draws)
        ]
    )
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    sides = boxes[..., 2:] - boxes[..., :2]
    return {
        "shift_15": float(np.linalg.norm(centre[:, 15] - centre[:, 0], axis=-1).mean()),
        "shift_1": float(np.linalg.norm(centre[:, 1] - centre[:, 0], axis=-1).mean()),
        "log_size_15": float(np.abs(np.log(sides[:, 15] / sides[:, 0])).mean()),
        "area_0": float(sides[:, 0].prod(axis=-1).mean()),
    }


def test_trajectories_move_like_the_official_ones() -> None:
    # Reference figures: microsoft/CtP's PatchMask.rectangle_movement and
    # RandomRegionSampler with the R3D-18 pretraining settings (3 px/frame,
    # size velocity 0.025, key-frame probabilities 0.5/0.3/0.2), 4000 rounded
    # 16-frame trajectories at 112 px, and 4500 at 64 px with the pixel
    # settings scaled by 64/112.
    ours = _trajectory_statistics(112, 4000)
    assert ours["shift_15"] == pytest.approx(22.96, abs=1.0)
    assert ours["shift_1"] == pytest.approx(2.02, abs=0.15)
    assert ours["log_size_15"] == pytest.approx(0.143, abs=0.01)
    assert ours["area_0"] == pytest.approx(1520.6, rel=0.05)
    assert _trajectory_statistics(64, 2000)["shift_15"] == pytest.approx(12.98, abs=0.7)


@pytest.mark.parametrize("frame_size", FRAME_SIZES)
def test_trajectories_stay_in_the_frame(frame_size: tuple[int, int]) -> None:
    rng = np.random.default_rng(2)
    height, width = frame_size
    for _ in range(100):
        boxes = sample_trajectory(16, frame_size, rng).astype(np.float64)
        assert boxes.shape == (16, 4)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all()
        assert (boxes[:, 3] <= height).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        rounded = _round_boxes(boxes, height, width)
        assert (rounded[:, 2:] - rounded[:, :2] >= 1).all()


def test_trajectory_speed_bound_and_still_patches() -> None:
    # Far from the borders a centre moves at most max_speed px per frame and
    # axis on average over the clip (it may go faster inside a segment when
    # it accelerates).
    settings = CtPAugmentSettings(reference_size=1000)
    rng = np.random.default_rng(3)
    for _ in range(200):
        boxes = sample_trajectory(16, (1000, 1000), rng, settings).astype(np.float64)
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        assert (np.abs(centre[-1] - centre[0]) <= 3.0 * 15 + 1e-6).all()
    still = CtPAugmentSettings(max_speed=0.0, max_log_size_change=0.0)
    boxes = sample_trajectory(8, (64, 64), rng, still)
    np.testing.assert_allclose(boxes, np.broadcast_to(boxes[0], boxes.shape), atol=1e-4)
    assert sample_trajectory(1, (32, 32), rng).shape == (1, 4)


def test_anchors_are_the_official_scales_and_ratios() -> None:
    settings = CtPAugmentSettings(scale_jitter=0.0, max_speed=0.0)
    rng = np.random.default_rng(4)
    areas, ratios = set(), set()
    for _ in range(400):
        x1, y1, x2, y2 = sample_trajectory(1, (112, 112), rng, settings)[0]
        areas.add(round(float((x2 - x1) * (y2 - y1))))
        ratios.add(round(float((x2 - x1) / (y2 - y1)), 2))
    assert areas == {s * s for s in (16, 24, 28, 32, 48, 64)}
    assert ratios == {0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0}


# ----------------------------------------------------------------------- masks
def test_mask_hand_cases() -> None:
    np.testing.assert_array_equal(patch_mask("rectangle", 3, 5), np.ones((3, 5)))
    ellipse = patch_mask("ellipse", 4, 4)
    np.testing.assert_array_equal(
        ellipse, [[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]]
    )
    rhombus = patch_mask("rhombus", 4, 4)
    np.testing.assert_array_equal(
        rhombus, [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    )
    # A soft edge from 0.25: the outer ring (distance 0.375) gets 0.5.
    soft = patch_mask("rectangle", 4, 4, soft_edge_start=0.25)
    expected = np.full((4, 4), 0.5)
    expected[1:3, 1:3] = 1.0
    np.testing.assert_allclose(soft, expected)


@pytest.mark.parametrize("name", ["rectangle", "ellipse", "rhombus"])
def test_masks_are_symmetric_and_bounded(name: str) -> None:
    for height, width in ((1, 1), (7, 12), (30, 16)):
        for start in (None, 0.3, 0.45):
            mask = patch_mask(name, height, width, start)
            assert mask.dtype == np.float32 and mask.shape == (height, width)
            assert mask.min() >= 0 and mask.max() <= 1
            np.testing.assert_allclose(mask, mask[::-1], atol=1e-6)
            np.testing.assert_allclose(mask, mask[:, ::-1], atol=1e-6)
    assert patch_mask(name, 9, 9)[4, 4] == 1.0


def test_mask_errors() -> None:
    with pytest.raises(ValueError, match="unknown patch shape"):
        patch_mask("triangle", 8, 8)
    with pytest.raises(ValueError, match="mask size"):
        patch_mask("ellipse", 0, 8)
    with pytest.raises(ValueError, match="soft_edge_start"):
        patch_mask("ellipse", 8, 8, soft_edge_start=0.5)


# ---------------------------------------------------------------------- pasting
def test_resize_matches_torch_bilinear() -> None:
    image = np.random.default_rng(3).random((7, 9, 3)).astype(np.float32)
    for out_h, out_w in ((7, 9), (12, 5), (3, 16), (1, 1)):
        ours = _resize_bilinear(image, out_h, out_w)
        ref = torch.nn.functional.interpolate(
            torch.from_numpy(image).permute(2, 0, 1)[None],
            size=(out_h, out_w),
            mode="bilinear",
            align_corners=False,
        )[0].permute(1, 2, 0)
        np.testing.assert_allclose(ours, ref.numpy(), atol=1e-6)


def _frame_coded_clip(num_frames: int, height: int, width: int) -> np.ndarray:
    """Every frame is one constant value, distinct per frame (never 0)."""
    values = (np.arange(num_frames, dtype=np.float32) + 1) / (num_frames + 1)
    return np.broadcast_to(
        values[:, None, None, None], (num_frames, height, width, 3)
    ).copy()


def _inside(boxes: np.ndarray, t: int, height: int, width: int) -> np.ndarray:
    inside = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in boxes[:, t].astype(int):
        inside[y1:y2, x1:x2] = True
    return inside


def test_boxes_are_the_rounded_trajectories() -> None:
    clip = np.random.default_rng(5).random((16, 64, 48, 3), dtype=np.float32)
    _, boxes = paste_moving_patches(clip, np.random.default_rng(9), PLAIN)
    expected = _round_boxes(
        sample_trajectory(16, (64, 48), np.random.default_rng(9)), 64, 48
    )
    np.testing.assert_array_equal(boxes[0], expected)
    assert boxes.dtype == np.float32


@pytest.mark.parametrize("frame_size", FRAME_SIZES)
def test_patch_is_its_own_box_on_a_source_frame(frame_size: tuple[int, int]) -> None:
    height, width = frame_size
    clip = np.random.default_rng(6).random((16, height, width, 3), dtype=np.float32)
    rng = np.random.default_rng(7)
    for _ in range(3):
        out, boxes = paste_moving_patches(clip, rng, PLAIN)
        box = boxes[0].astype(int)
        sources = []
        for s in range(16):
            x1, y1, x2, y2 = box[s]
            patch = clip[s, y1:y2, x1:x2]
            if all(
                np.allclose(
                    out[t, b[1] : b[3], b[0] : b[2]],
                    _resize_bilinear(patch, b[3] - b[1], b[2] - b[0]),
                    atol=1e-6,
                )
                for t, b in enumerate(box)
            ):
                sources.append(s)
        assert len(sources) == 1  # one source frame explains every frame
        for t in range(16):
            outside = ~_inside(boxes, t, height, width)
            np.testing.assert_array_equal(out[t][outside], clip[t][outside])


def test_paste_probability_opacity_and_first_frame() -> None:
    clip = _frame_coded_clip(16, 64, 64)
    settings = CtPAugmentSettings(
        num_patches=1,
        opacity_range=(0.8, 0.8),
        shape_probs=(1.0, 0.0, 0.0),
        soft_edge_prob=0.0,
    )
    rng = np.random.default_rng(8)
    pasted = []
    for _ in range(300):
        out, boxes = paste_moving_patches(clip, rng, settings)
        x1, y1, x2, y2 = boxes[0, 0].astype(int)
        # Opacity 0.8 on frame 0, which always carries the patch.
        source_value = (out[0, y1, x1, 0] - 0.2 * clip[0, y1, x1, 0]) / 0.8
        source = int(np.argmin(np.abs(clip[:, 0, 0, 0] - source_value)))
        np.testing.assert_allclose(source_value, clip[source, 0, 0, 0], atol=1e-5)
        for t in range(1, 16):
            x1, y1, x2, y2 = boxes[0, t].astype(int)
            region = out[t, y1:y2, x1:x2]
            blended = 0.2 * clip[t, 0, 0, 0] + 0.8 * clip[source, 0, 0, 0]
            is_pasted = bool(np.allclose(region, blended, atol=1e-5))
            assert is_pasted or np.array_equal(region, clip[t, y1:y2, x1:x2])
            if t != source:
                pasted.append(is_pasted)
    assert np.mean(pasted) == pytest.approx(0.8, abs=0.03)


def test_small_patch_is_pasted_over_the_large_one() -> None:
    clip = _frame_coded_clip(8, 96, 96)
    settings = dataclasses.replace(PLAIN, num_patches=2)
    rng = np.random.default_rng(10)
    checked = 0
    for _ in range(200):
        out, boxes = paste_moving_patches(clip, rng, settings)
        b = boxes[:, 0].astype(int)
        # Patches are ordered by the product of their mean width and height.
        areas = (boxes[..., 2:] - boxes[..., :2]).mean(axis=1).prod(axis=-1)
        small, large = b[np.argmin(areas)], b[np.argmax(areas)]
        if areas.min() == areas.max():
            continue
        small_mask = np.zeros((96, 96), dtype=bool)
        small_mask[small[1] : small[3], small[0] : small[2]] = True
        large_mask = np.zeros((96, 96), dtype=bool)
        large_mask[large[1] : large[3], large[0] : large[2]] = True
        both, only_small = small_mask & large_mask, small_mask & ~large_mask
        if both.any() and only_small.any():
            # The overlap shows the small patch's (constant) source value.
            assert np.allclose(out[0][both], out[0][only_small][0], atol=1e-6)
            checked += 1
    assert checked > 5


def test_paste_is_deterministic_and_leaves_the_input() -> None:
    clip = np.random.default_rng(12).random((16, 48, 72, 3), dtype=np.float32)
    original = clip.copy()
    out_a, boxes_a = paste_moving_patches(clip, np.random.default_rng(3))
    out_b, boxes_b = paste_moving_patches(clip, np.random.default_rng(3))
    out_c, _ = paste_moving_patches(clip, np.random.default_rng(4))
    np.testing.assert_array_equal(clip, original)
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(boxes_a, boxes_b)
    assert not np.array_equal(out_a, out_c)
    assert out_a.shape == clip.shape and out_a.dtype == clip.dtype
    assert boxes_a.shape == (3, 16, 4)
    assert out_a.min() >= -1e-6 and out_a.max() <= 1 + 1e-6
    for t in range(16):
        outside = ~_inside(boxes_a, t, 48, 72)
        np.testing.assert_array_equal(out_a[t][outside], clip[t][outside])


def test_paste_zero_patches_and_validation() -> None:
    clip = np.zeros((4, 32, 32, 3), dtype=np.float32)
    out, boxes = paste_moving_patches(
        clip, np.random.default_rng(0), CtPAugmentSettings(num_patches=0)
    )
    np.testing.assert_array_equal(out, clip)
    assert boxes.shape == (0, 4, 4)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        paste_moving_patches(clip[..., :2], np.random.default_rng(0))
    with pytest.raises(ValueError, match="float"):
        paste_moving_patches(clip.astype(np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_frames"):
        sample_trajectory(0, (32, 32), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_patches": -1}, "num_patches"),
        ({"scales": ()}, "scales"),
        ({"aspect_ratios": (0.0,)}, "aspect_ratios"),
        ({"scale_jitter": -0.1}, "scale_jitter"),
        ({"max_speed": -1.0}, "max_speed"),
        ({"max_log_size_change": -0.1}, "max_log_size_change"),
        ({"key_frame_probs": (0.5, 0.4)}, "key_frame_probs"),
        ({"interpolation_probs": (0.5, 0.5)}, "interpolation_probs"),
        ({"shape_probs": (1.0, -0.5, 0.5)}, "shape_probs"),
        ({"paste_prob": 1.5}, "paste_prob"),
        ({"solid_prob": -0.1}, "solid_prob"),
        ({"opacity_range": (0.9, 0.8)}, "opacity_range"),
        ({"soft_edge_start": (0.3, 0.5)}, "soft_edge_start"),
        ({"reference_size": 0}, "reference_size"),
    ],
)
def test_settings_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CtPAugmentSettings(**kwargs)


# ------------------------------------------------------- solid patches, families
def test_solid_patches_are_one_colour_and_keep_the_boxes() -> None:
    clip = np.random.default_rng(1).random((16, 48, 48, 3), dtype=np.float32)
    solid = dataclasses.replace(PLAIN, solid_prob=1.0)
    out, boxes = paste_moving_patches(clip, np.random.default_rng(2), solid)
    _, plain_boxes = paste_moving_patches(clip, np.random.default_rng(2), PLAIN)
    np.testing.assert_array_equal(boxes, plain_boxes)  # same trajectory drawn
    colours = []
    for t in range(16):
        x1, y1, x2, y2 = boxes[0, t].astype(int)
        region = out[t, y1:y2, x1:x2].reshape(-1, 3)
        np.testing.assert_allclose(region, region[:1].repeat(len(region), 0), atol=1e-6)
        colours.append(region[0])
    np.testing.assert_allclose(
        colours, colours[:1] * 16, atol=1e-6
    )  # the same on every frame


def test_solid_prob_mixes_solid_and_cut_patches() -> None:
    clip = np.random.default_rng(3).random((16, 48, 48, 3), dtype=np.float32)
    half = dataclasses.replace(PLAIN, solid_prob=0.5)
    rng = np.random.default_rng(4)
    solid = []
    for _ in range(400):
        out, boxes = paste_moving_patches(clip, rng, half)
        x1, y1, x2, y2 = boxes[0, 0].astype(int)
        solid.append(bool(np.ptp(out[0, y1:y2, x1:x2], axis=(0, 1)).max() < 1e-6))
    assert np.mean(solid) == pytest.approx(0.5, abs=0.06)


def test_official_settings_keep_their_random_stream() -> None:
    # solid_prob = 0 draws nothing extra: the official output is unchanged.
    clip = np.random.default_rng(5).random((16, 40, 40, 3), dtype=np.float32)
    explicit = CtPAugmentSettings(solid_prob=0.0)
    a = paste_moving_patches(clip, np.random.default_rng(6))
    b = paste_moving_patches(clip, np.random.default_rng(6), explicit)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_constant_velocity_trajectories_move_in_a_straight_line() -> None:
    key_frames, interpolation = TRAJECTORIES["constant-velocity"]
    settings = CtPAugmentSettings(
        key_frame_probs=key_frames,
        interpolation_probs=interpolation,
        max_log_size_change=0.0,
    )
    rng = np.random.default_rng(7)
    for _ in range(50):
        boxes = sample_trajectory(16, (400, 400), rng, settings).astype(np.float64)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        steps = np.diff(centres, axis=0)
        np.testing.assert_allclose(steps, steps[:1].repeat(15, 0), atol=1e-3)
        sizes = boxes[:, 2:] - boxes[:, :2]
        np.testing.assert_allclose(sizes, sizes[:1].repeat(16, 0), atol=1e-3)
    assert TRAJECTORIES["key-frames"] == (
        CtPAugmentSettings().key_frame_probs,
        CtPAugmentSettings().interpolation_probs,
    )


# ------------------------------------------------------------ interpolation
def test_interpolate_settings_hand_case() -> None:
    easy = CtPAugmentSettings(
        max_speed=6.0,
        max_log_size_change=0.0,
        key_frame_probs=(1.0,),
        interpolation_probs=(1.0, 0.0, 0.0),
        paste_prob=1.0,
        opacity_range=(1.0, 1.0),
        soft_edge_prob=0.0,
        solid_prob=1.0,
        num_patches=1,
        scales=(8.0,),
    )
    hard = CtPAugmentSettings()
    quarter = interpolate_settings(easy, hard, 0.25)
    assert quarter.max_speed == pytest.approx(5.25)
    assert quarter.max_log_size_change == pytest.approx(0.00625)
    assert quarter.paste_prob == pytest.approx(0.95)
    assert quarter.opacity_range == pytest.approx((0.95, 1.0))
    assert quarter.soft_edge_prob == pytest.approx(0.125)
    assert quarter.solid_prob == pytest.approx(0.75)
    assert quarter.key_frame_probs == pytest.approx((0.875, 0.075, 0.05))
    assert quarter.interpolation_probs == pytest.approx((0.925, 0.0375, 0.0375))
    # Anchors and patch count are the target's.
    assert quarter.num_patches == 3
    assert quarter.scales == hard.scales
    assert interpolate_settings(easy, hard, 1.0) == hard
    start = interpolate_settings(easy, hard, 0.0)
    assert start.solid_prob == 1.0 and start.max_speed == 6.0
    assert start.scales == hard.scales


@pytest.mark.parametrize("difficulty", [-0.1, 1.5])
def test_interpolate_settings_rejects_difficulty_outside_0_1(difficulty) -> None:
    with pytest.raises(ValueError, match="difficulty"):
        interpolate_settings(CtPAugmentSettings(), CtPAugmentSettings(), difficulty)


@pytest.mark.parametrize("contrast", [0.0, 0.5])
def test_background_contrast_flattens_the_clip_but_not_cut_patches(contrast) -> None:
    clip = np.random.default_rng(8).random((16, 40, 40, 3), dtype=np.float32)
    settings = dataclasses.replace(PLAIN, background_contrast=contrast)
    out, boxes = paste_moving_patches(clip, np.random.default_rng(9), settings)
    plain_out, plain_boxes = paste_moving_patches(clip, np.random.default_rng(9), PLAIN)
    np.testing.assert_array_equal(boxes, plain_boxes)
    grey = np.array(FLAT_BACKGROUND)
    assert FLAT_BACKGROUND == IMAGENET_MEAN  # zero input after normalisation
    for t in range(16):
        outside = ~_inside(boxes, t, 40, 40)
        expected = grey + contrast * (clip[t] - grey)
        np.testing.assert_allclose(out[t][outside], expected[outside], atol=1e-6)
        # The patch is cut from the original clip, at full contrast.
        inside = _inside(boxes, t, 40, 40)
        np.testing.assert_allclose(out[t][inside], plain_out[t][inside], atol=1e-6)


def test_background_contrast_is_validated() -> None:
    with pytest.raises(ValueError, match="background_contrast"):
        CtPAugmentSettings(background_contrast=1.5)
