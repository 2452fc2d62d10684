"""Tests for the Catch-the-Patch augmentation and loss (ctp_augment, losses)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fedvideo.tasks.ssl.data.ctp_augment import (
    MASK_SHAPES,
    PATCH_SCALES_AT_112,
    CtPAugmentSettings,
    _resize_bilinear,
    paste_moving_patches,
    patch_mask,
    sample_trajectory,
)
from fedvideo.tasks.ssl.losses import (
    CTP_DELTA_STDS,
    ctp_trajectory_loss,
    decode_box_deltas,
    encode_box_deltas,
)

FRAME_SIZES = [(64, 64), (112, 112), (32, 32), (48, 80), (96, 40)]
RECTANGLES = CtPAugmentSettings(shapes=("rectangle",))


def _check_trajectory(boxes: np.ndarray, height: int, width: int, settings) -> None:
    pixel = min(height, width) / settings.reference_size
    assert boxes.dtype == np.float32
    b = boxes.astype(np.float64)
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
    assert (b[:, 2] <= width).all() and (b[:, 3] <= height).all()
    size = b[:, 2:] - b[:, :2]
    assert (size >= 1.0 - 1e-5).all()
    centre = b[:, :2] + size / 2
    step = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    assert (step <= settings.max_speed * pixel + 1e-4).all()
    growth = np.abs(np.diff(np.log(size), axis=0))
    assert (growth <= settings.max_log_size_change + 1e-5).all()


@pytest.mark.parametrize("frame_size", FRAME_SIZES)
def test_trajectory_bounds_over_many_draws(frame_size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    height, width = frame_size
    settings = CtPAugmentSettings()
    moved = 0.0
    for _ in range(100):
        boxes = sample_trajectory(16, frame_size, rng, settings)
        assert boxes.shape == (16, 4)
        _check_trajectory(boxes, height, width, settings)
        moved += np.abs(np.diff(boxes, axis=0)).sum()
    assert moved > 0  # the patches do move


def test_trajectory_long_clip_and_edge_cases() -> None:
    rng = np.random.default_rng(1)
    settings = CtPAugmentSettings(max_speed=10.0, max_log_size_change=0.1)
    for _ in range(20):  # long clips hit the borders and the size limits often
        boxes = sample_trajectory(64, (40, 56), rng, settings)
        _check_trajectory(boxes, 40, 56, settings)
    assert sample_trajectory(1, (32, 32), rng).shape == (1, 4)
    assert sample_trajectory(2, (32, 32), rng).shape == (2, 4)
    still = CtPAugmentSettings(max_speed=0.0, max_log_size_change=0.0)
    boxes = sample_trajectory(8, (64, 64), rng, still)
    np.testing.assert_array_equal(boxes, np.broadcast_to(boxes[0], boxes.shape))


def test_trajectory_initial_size_follows_scales() -> None:
    rng = np.random.default_rng(2)
    settings = CtPAugmentSettings(aspect_range=(1.0, 1.0))
    for size in (56, 112):
        seen = set()
        for _ in range(60):
            box = sample_trajectory(1, (size, size), rng, settings)[0]
            seen.add(round(float(box[2] - box[0]) * 112 / size, 3))
            assert box[2] - box[0] == pytest.approx(box[3] - box[1], abs=1e-4)
        assert seen <= {float(s) for s in PATCH_SCALES_AT_112}
        assert len(seen) >= 4


def test_trajectory_is_deterministic() -> None:
    a = sample_trajectory(16, (64, 64), np.random.default_rng(5))
    b = sample_trajectory(16, (64, 64), np.random.default_rng(5))
    c = sample_trajectory(16, (64, 64), np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_masks() -> None:
    for name in MASK_SHAPES:
        for height, width in ((16, 16), (24, 40), (31, 17)):
            mask = patch_mask(name, height, width)
            assert mask.shape == (height, width) and mask.dtype == np.float32
            assert mask.min() >= 0 and mask.max() <= 1
            assert mask[height // 2, width // 2] == 1
            if name == "rectangle":
                assert (mask == 1).all()
            else:
                for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
                    assert mask[y, x] == 0
                hard = patch_mask(name, height, width, edge=0)
                assert set(np.unique(hard)) <= {0.0, 1.0}
    # The rhombus lies inside the ellipse.
    assert patch_mask("rhombus", 32, 32).sum() < patch_mask("ellipse", 32, 32).sum()
    assert patch_mask("rectangle", 1, 1).shape == (1, 1)
    with pytest.raises(ValueError, match="unknown patch shape"):
        patch_mask("triangle", 8, 8)
    with pytest.raises(ValueError, match="mask size"):
        patch_mask("ellipse", 0, 8)


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


@pytest.mark.parametrize("frame_size", FRAME_SIZES)
def test_pasted_patch_is_where_the_target_says(frame_size: tuple[int, int]) -> None:
    height, width = frame_size
    num_frames = 16
    clip = _frame_coded_clip(num_frames, height, width)
    values = clip[:, 0, 0, 0]
    original = clip.copy()
    rng = np.random.default_rng(7)
    for _ in range(3):
        out, boxes = paste_moving_patches(clip, rng, RECTANGLES)
        np.testing.assert_array_equal(clip, original)  # input untouched
        assert out.shape == clip.shape and out.dtype == clip.dtype
        assert boxes.shape == (3, num_frames, 4) and boxes.dtype == np.float32
        np.testing.assert_array_equal(boxes, np.round(boxes))  # integer boxes
        _check_trajectory_rounded(boxes, height, width)
        for t in range(num_frames):
            inside = np.zeros((height, width), dtype=bool)
            covered = np.zeros((height, width), dtype=bool)  # by a later patch
            for p in reversed(range(len(boxes))):
                x1, y1, x2, y2 = boxes[p, t].astype(int)
                box = np.zeros((height, width), dtype=bool)
                box[y1:y2, x1:x2] = True
                visible = box & ~covered
                covered |= box
                inside |= box
                if not visible.any():
                    continue
                # A rectangle patch cut from one constant frame: the visible
                # part of the box holds exactly that frame's value.
                seen = out[t][visible]
                source = np.argmin(np.abs(values - seen[0, 0]))
                np.testing.assert_allclose(seen, values[source], atol=1e-6)
            # Nothing outside the boxes changed.
            np.testing.assert_array_equal(out[t][~inside], clip[t][~inside])


def _check_trajectory_rounded(boxes: np.ndarray, height: int, width: int) -> None:
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 1] >= 0).all()
    assert (boxes[..., 2] <= width).all() and (boxes[..., 3] <= height).all()
    assert (boxes[..., 2:] - boxes[..., :2] >= 1).all()
    pixel = min(height, width) / 112
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    # Rounding each edge moves the centre by at most 0.5 px per axis.
    step = np.abs(np.diff(centre, axis=1))
    assert (step <= 3.0 * pixel + 1.0 + 1e-5).all()


def test_patch_source_frames_differ_from_destination() -> None:
    # One patch: on every frame except its source frame it changes every
    # pixel of its box (the frame values are distinct).
    clip = _frame_coded_clip(16, 64, 64)
    settings = CtPAugmentSettings(num_patches=1, shapes=("rectangle",))
    rng = np.random.default_rng(11)
    for _ in range(5):
        out, boxes = paste_moving_patches(clip, rng, settings)
        x1, y1, x2, y2 = boxes[0, 0].astype(int)
        source_value = out[0, y1, x1, 0]
        for t in range(16):
            x1, y1, x2, y2 = boxes[0, t].astype(int)
            changed = np.abs(out[t] - clip[t]).max(axis=-1) > 1e-6
            if abs(clip[t, 0, 0, 0] - source_value) > 1e-6:
                assert changed[y1:y2, x1:x2].all()
            assert changed.sum() == changed[y1:y2, x1:x2].sum()


def test_paste_textured_clip_changes_only_boxes_and_is_deterministic() -> None:
    rng = np.random.default_rng(12)
    clip = rng.random((16, 48, 72, 3), dtype=np.float32)
    out_a, boxes_a = paste_moving_patches(clip, np.random.default_rng(3))
    out_b, boxes_b = paste_moving_patches(clip, np.random.default_rng(3))
    out_c, _ = paste_moving_patches(clip, np.random.default_rng(4))
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(boxes_a, boxes_b)
    assert not np.array_equal(out_a, out_c)
    assert out_a.min() >= -1e-6 and out_a.max() <= 1 + 1e-6
    for t in range(16):
        inside = np.zeros((48, 72), dtype=bool)
        for x1, y1, x2, y2 in boxes_a[:, t].astype(int):
            inside[y1:y2, x1:x2] = True
        np.testing.assert_array_equal(out_a[t][~inside], clip[t][~inside])
        assert not np.array_equal(out_a[t][inside], clip[t][inside])


def test_paste_soft_shapes_stay_inside_boxes() -> None:
    clip = _frame_coded_clip(8, 64, 64)
    settings = CtPAugmentSettings(num_patches=2, shapes=("ellipse", "rhombus"))
    out, boxes = paste_moving_patches(clip, np.random.default_rng(0), settings)
    for t in range(8):
        inside = np.zeros((64, 64), dtype=bool)
        for x1, y1, x2, y2 in boxes[:, t].astype(int):
            inside[y1:y2, x1:x2] = True
        np.testing.assert_array_equal(out[t][~inside], clip[t][~inside])
        # Box corners are outside the shape: untouched unless another box
        # covers them.
        x1, y1, x2, y2 = boxes[1, t].astype(int)
        np.testing.assert_array_equal(out[t, y1, x1], clip[t, y1, x1])


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
        ({"aspect_range": (2.0, 0.5)}, "aspect_range"),
        ({"max_speed": -1.0}, "max_speed"),
        ({"max_log_size_change": -0.1}, "max_log_size_change"),
        ({"key_frames": (1, 3)}, "key_frames"),
        ({"shapes": ("square",)}, "shapes"),
        ({"reference_size": 0}, "reference_size"),
    ],
)
def test_settings_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CtPAugmentSettings(**kwargs)


# ----------------------------------------------------------------------- loss


def _roi_boxes(num_frames: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """RoIs (2, 3, 4) and boxes (2, 3, T, 4) identical to them on every frame."""
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(2, 3, 2, generator=gen, dtype=torch.float64) * 50
    wh = torch.rand(2, 3, 2, generator=gen, dtype=torch.float64) * 30 + 5
    rois = torch.cat([xy, xy + wh], -1)
    return rois, rois[:, :, None].expand(2, 3, num_frames, 4).clone()


def test_loss_zero_for_boxes_equal_to_roi() -> None:
    rois, boxes = _roi_boxes()
    pred = torch.zeros_like(boxes)
    total, parts = ctp_trajectory_loss(pred, boxes, rois)
    assert total.item() == 0 and parts == {"center": 0.0, "size": 0.0}
    total, _ = ctp_trajectory_loss(pred, boxes)  # default RoI = frame-0 box
    assert total.item() == 0


def test_loss_half_pixel_shift() -> None:
    # Centre offsets are in pixels: a 0.4 px shift in x is 0.4 / 0.8 = 0.5.
    rois, boxes = _roi_boxes()
    boxes[..., 0] += 0.4
    boxes[..., 2] += 0.4
    target = encode_box_deltas(boxes, rois)
    torch.testing.assert_close(target[..., 0], torch.full_like(target[..., 0], 0.5))
    torch.testing.assert_close(target[..., 1:], torch.zeros_like(target[..., 1:]))
    total, parts = ctp_trajectory_loss(torch.zeros_like(boxes), boxes, rois)
    expected = 0.5 * 0.5**2 / 2  # one of the two centre coordinates
    assert parts["center"] == pytest.approx(expected)
    assert parts["size"] == pytest.approx(0.0, abs=1e-12)
    assert total.item() == pytest.approx(expected)

    # Default RoI is the frame-0 box: shift frames 1.. only.
    boxes0 = boxes.clone()
    boxes0[:, :, 0] = rois
    _, parts = ctp_trajectory_loss(torch.zeros_like(boxes0), boxes0)
    assert parts["center"] == pytest.approx(expected * 4 / 5)


def test_loss_large_shift_is_linear() -> None:
    # 8 px in y -> delta 10 -> Smooth-L1 10 - 0.5 on that coordinate.
    rois, boxes = _roi_boxes()
    boxes[..., 1] += 8.0
    boxes[..., 3] += 8.0
    _, parts = ctp_trajectory_loss(torch.zeros_like(boxes), boxes, rois)
    assert parts["center"] == pytest.approx(9.5 / 2)


def test_loss_size_change() -> None:
    rois, boxes = _roi_boxes()
    centre = (rois[..., :2] + rois[..., 2:]) / 2
    half = (rois[..., 2:] - rois[..., :2]) / 2 * math.exp(0.02)
    scaled = torch.cat([centre - half, centre + half], -1)
    boxes = scaled[:, :, None].expand_as(boxes)
    target = encode_box_deltas(boxes, rois)
    torch.testing.assert_close(target[..., 2:], torch.full_like(target[..., 2:], 0.5))
    torch.testing.assert_close(target[..., :2], torch.zeros_like(target[..., :2]))
    _, parts = ctp_trajectory_loss(torch.zeros_like(boxes), boxes, rois)
    assert parts["size"] == pytest.approx(0.125)
    assert parts["center"] == pytest.approx(0.0, abs=1e-12)


def test_loss_large_error_branch() -> None:
    rois, boxes = _roi_boxes()
    pred = torch.zeros_like(boxes)
    pred[..., 0] = 3.0  # |x| > 1: |x| - 0.5 = 2.5 on dx, 0 on dy
    pred[..., 3] = -1.5  # 1.0 on dh, 0 on dw
    total, parts = ctp_trajectory_loss(pred, boxes, rois)
    assert parts["center"] == pytest.approx(1.25)
    assert parts["size"] == pytest.approx(0.5)
    assert total.item() == pytest.approx(1.75)


def test_encode_decode_round_trip() -> None:
    gen = torch.Generator().manual_seed(1)
    rois, _ = _roi_boxes()
    deltas = torch.randn(2, 3, 6, 4, generator=gen, dtype=torch.float64)
    boxes = decode_box_deltas(deltas, rois)
    torch.testing.assert_close(encode_box_deltas(boxes, rois), deltas)
    torch.testing.assert_close(
        decode_box_deltas(encode_box_deltas(boxes, rois), rois), boxes
    )
    stds = (0.1, 0.2, 0.3, 0.4)
    torch.testing.assert_close(
        encode_box_deltas(decode_box_deltas(deltas, rois, stds), rois, stds), deltas
    )
    # Deltas of the RoI itself are zero; stds divide the raw deltas.
    assert decode_box_deltas(torch.zeros(2, 3, 1, 4), rois.float()).shape == (
        2,
        3,
        1,
        4,
    )
    raw = encode_box_deltas(boxes, rois, (1.0, 1.0, 1.0, 1.0))
    torch.testing.assert_close(
        encode_box_deltas(boxes, rois), raw / torch.tensor(CTP_DELTA_STDS).double()
    )


def test_loss_gradients_flow_to_pred_only() -> None:
    rois, boxes = _roi_boxes()
    boxes = boxes + torch.rand(boxes.shape, generator=torch.Generator().manual_seed(2))
    boxes.requires_grad_(True)
    pred = torch.randn(boxes.shape, dtype=torch.float32, requires_grad=True)
    total, _ = ctp_trajectory_loss(pred, boxes)
    total.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert boxes.grad is None
    assert total.dtype == torch.float32


def test_loss_with_augment_output_and_shape_errors() -> None:
    clip = np.random.default_rng(0).random((8, 64, 64, 3), dtype=np.float32)
    _, boxes = paste_moving_patches(clip, np.random.default_rng(1))
    boxes_t = torch.from_numpy(boxes)[None]  # (1, P, T, 4)
    target = encode_box_deltas(boxes_t, boxes_t[:, :, 0])
    total, _ = ctp_trajectory_loss(target, boxes_t)
    assert total.item() == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(ValueError, match=r"\(N, P, T, 4\)"):
        ctp_trajectory_loss(target[0], boxes_t[0])
    with pytest.raises(ValueError, match="boxes must have the shape"):
        ctp_trajectory_loss(target, boxes_t[:, :, :4])
    with pytest.raises(ValueError, match="rois must have shape"):
        ctp_trajectory_loss(target, boxes_t, boxes_t[:, 0])
    with pytest.raises(ValueError, match="stds"):
        encode_box_deltas(boxes_t, boxes_t[:, :, 0], (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="rois must have shape"):
        encode_box_deltas(boxes_t, boxes_t[:, 0, 0])
