"""Tests for the Catch-the-Patch loss and its box-delta encoding (ssl.losses)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fedvideo.tasks.ssl.data.ctp_augment import paste_moving_patches
from fedvideo.tasks.ssl.losses import (
    CTP_DELTA_STDS,
    ctp_batch_loss,
    ctp_trajectory_loss,
    decode_box_deltas,
    encode_box_deltas,
    no_motion_loss,
)


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
    expected = 0.5 * 0.5**2  # summed over (dx, dy), averaged over entries
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
    assert parts["center"] == pytest.approx(9.5)


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
    assert parts["size"] == pytest.approx(0.25)  # 0.125 on each of dw, dh
    assert parts["center"] == pytest.approx(0.0, abs=1e-12)


def test_loss_large_error_branch() -> None:
    rois, boxes = _roi_boxes()
    pred = torch.zeros_like(boxes)
    pred[..., 0] = 3.0  # |x| > 1: |x| - 0.5 = 2.5 on dx, 0 on dy
    pred[..., 3] = -1.5  # 1.0 on dh, 0 on dw
    total, parts = ctp_trajectory_loss(pred, boxes, rois)
    assert parts["center"] == pytest.approx(2.5)
    assert parts["size"] == pytest.approx(1.0)
    assert total.item() == pytest.approx(3.5)


def _official_reduction(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CtPHead.loss of microsoft/CtP with unit weights, written out."""
    diff = (pred - target).abs()
    error = torch.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5)
    count = max(1.0, float(pred.shape[0] * pred.shape[1] * pred.shape[2]))
    return error[..., 0:2].sum() / count + error[..., 2:4].sum() / count


def test_loss_equals_the_official_reduction_and_gradient() -> None:
    gen = torch.Generator().manual_seed(4)
    rois, boxes = _roi_boxes(num_frames=7)
    boxes = boxes + torch.rand(boxes.shape, generator=gen, dtype=torch.float64) * 6
    pred = torch.randn(boxes.shape, generator=gen, dtype=torch.float64) * 2
    target = encode_box_deltas(boxes, rois)
    ours_pred = pred.clone().requires_grad_(True)
    total, _ = ctp_trajectory_loss(ours_pred, boxes, rois)
    reference_pred = pred.clone().requires_grad_(True)
    reference = _official_reduction(reference_pred, target)
    torch.testing.assert_close(total, reference)
    total.backward()
    reference.backward()
    torch.testing.assert_close(ours_pred.grad, reference_pred.grad)
    # Each part is twice the mean over its elements (two coordinates summed),
    # so the total is four times the mean over all elements.
    mean = torch.nn.functional.smooth_l1_loss(pred, target)
    torch.testing.assert_close(total, 4 * mean)


def test_no_motion_loss_is_the_loss_of_zero_deltas() -> None:
    rois, boxes = _roi_boxes()
    boxes[:, :, 1:, 0] += 8.0  # every later frame moves 8 px right ...
    boxes[:, :, 1:, 2] += 8.0
    expected = 9.5 * 4 / 5  # ... delta 10 on 4 of 5 frames
    assert no_motion_loss(boxes) == pytest.approx(expected)
    total, _ = ctp_trajectory_loss(torch.zeros_like(boxes), boxes)
    assert no_motion_loss(boxes) == pytest.approx(float(total))
    assert no_motion_loss(boxes, stds=(8.0, 8.0, 1.0, 1.0)) == pytest.approx(
        0.5 * 4 / 5
    )


def test_batch_loss_reports_the_no_motion_reference() -> None:
    class StillModel(torch.nn.Module):
        def forward(self, clip: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
            return torch.zeros(rois.shape[0], rois.shape[1], clip.shape[2], 4)

    clip = np.random.default_rng(0).random((16, 64, 64, 3), dtype=np.float32)
    _, boxes = paste_moving_patches(clip, np.random.default_rng(1))
    batch = {
        "clip": torch.zeros(1, 3, 16, 64, 64),
        "boxes": torch.from_numpy(boxes)[None],
    }
    total, parts = ctp_batch_loss(StillModel(), batch)
    assert set(parts) == {"center", "size", "no_motion"}
    assert parts["no_motion"] == pytest.approx(float(total))
    assert parts["no_motion"] > 0


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
