import math

import pytest
import torch

from fedvideo.fl.schedules import step_lr
from fedvideo.tasks.pose.keypoints import (
    decode_heatmaps,
    flip_back,
    heatmap_to_input,
    input_to_heatmap,
)
from fedvideo.tasks.pose.losses import joints_mse, mrkd_loss
from fedvideo.tasks.pose.metrics import pckh


def test_joints_mse_hand_computed_with_visibility():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.zeros(1, 2, 2, 2)
    target[0, 0, 0, 0] = 1.0  # joint 0: one pixel off by 1 -> MSE 1/4
    target[0, 1] = 3.0  # joint 1 invisible: ignored but counted in the mean
    loss = joints_mse(pred, target, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx((0.25 + 0.0) / 2)
    full = joints_mse(pred, target, torch.ones(1, 2))
    assert full.item() == pytest.approx((0.25 + 9.0) / 2)


def test_joints_mse_rejects_bad_shapes():
    with pytest.raises(ValueError, match="weights"):
        joints_mse(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), torch.ones(2))
    with pytest.raises(ValueError, match="equal"):
        joints_mse(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 3), torch.ones(1, 2))


def test_mrkd_loss_hand_made_heatmaps():
    teacher = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # (1, 1, 2, 2)
    student = torch.tensor([[[[0.5]]]])  # (1, 1, 1, 1), upsampled to all 0.5
    gt_high = torch.zeros(1, 1, 2, 2)
    gt_low = torch.ones(1, 1, 1, 1)
    w = torch.ones(1, 1)
    total, parts = mrkd_loss([teacher, student], [gt_high, gt_low], [w, w], 1.0)
    sup_high = 1.0 / 4  # teacher vs zeros
    sup_low = 0.25  # 0.5 vs 1
    kd = ((0.5 - 1.0) ** 2 + 3 * 0.5**2) / 4
    assert total.item() == pytest.approx((sup_high + sup_low + kd) / 2)
    assert parts["heatmap"] == pytest.approx((sup_high + sup_low) / 2)
    assert parts["kd"] == pytest.approx(kd)
    weighted, _ = mrkd_loss([teacher, student], [gt_high, gt_low], [w, w], 0.5)
    assert weighted.item() == pytest.approx((sup_high + sup_low + 0.5 * kd) / 2)


def test_mrkd_with_one_resolution_is_joints_mse():
    pred, gt, w = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4), torch.ones(2, 3)
    total, parts = mrkd_loss([pred], [gt], [w])
    assert total.item() == pytest.approx(joints_mse(pred, gt, w).item())
    assert parts["kd"] == 0.0


def test_mrkd_gradients_do_not_reach_the_teacher():
    high = torch.rand(2, 16, 8, 6, requires_grad=True)
    mid = torch.rand(2, 16, 6, 4, requires_grad=True)
    low = torch.rand(2, 16, 4, 3, requires_grad=True)
    outputs = [high, mid, low]
    # Targets equal the outputs: the supervised terms have zero gradient, so
    # every gradient comes from distillation.
    targets = [o.detach().clone() for o in outputs]
    weights = [torch.ones(2, 16)] * 3
    total, _ = mrkd_loss(outputs, targets, weights)
    total.backward()
    assert torch.count_nonzero(high.grad) == 0  # only ever a teacher
    assert torch.count_nonzero(mid.grad) > 0  # student of high (teacher of low)
    assert torch.count_nonzero(low.grad) > 0


def test_mrkd_rejects_mismatched_lists():
    with pytest.raises(ValueError, match="equal"):
        mrkd_loss([torch.zeros(1, 1, 2, 2)], [], [])


def test_pckh_hand_made():
    gt = torch.zeros(2, 16, 2)
    pred = gt.clone()
    head = torch.tensor([10.0, 20.0])
    pred[0, 0, 0] = 4.9  # within 0.5 * 10
    pred[0, 1, 0] = 5.1  # outside
    pred[1, 0, 1] = 9.0  # within 0.5 * 20, outside 0.1 * 20
    pred[0, 6, 0] = 100.0  # pelvis wrong: excluded from the mean
    visible = torch.ones(2, 16)
    visible[1, 1] = 0  # joint 1 of sample 1 does not count
    visible[:, 9] = 0  # head top never visible
    scores = pckh(pred, gt, visible, head)
    assert scores["per_joint"][0] == 100.0
    assert scores["per_joint"][1] == 0.0  # 0 of 1 counted
    assert scores["per_joint"][6] == 50.0
    assert math.isnan(scores["per_joint"][9])
    # 13 joints (not 6, 7; 9 never visible) x 2 samples, minus 1 not visible:
    # 25 counted, joint 1 of sample 0 wrong.
    assert scores["mean"] == pytest.approx(100.0 * 24 / 25)
    strict = pckh(pred, gt, visible, head, threshold=0.1)
    assert strict["per_joint"][0] == 0.0  # both samples' joint 0 beyond 0.1 head
    assert len(strict["per_joint"]) == 16


def test_pckh_rejects_bad_head_size_and_shapes():
    zeros = torch.zeros(1, 16, 2)
    with pytest.raises(ValueError, match="head sizes"):
        pckh(zeros, zeros, torch.ones(1, 16), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="visible"):
        pckh(zeros, zeros, torch.ones(16), torch.tensor([1.0]))


def test_decode_heatmaps_quarter_offset():
    maps = torch.zeros(1, 2, 8, 10)
    maps[0, 0, 3, 4] = 1.0
    maps[0, 0, 3, 5] = 0.5  # right neighbour larger: +0.25 in x
    maps[0, 0, 2, 4] = 0.2  # upper neighbour larger: -0.25 in y
    maps[0, 1, 0, 0] = 1.0  # on the border: no shift
    coords, scores = decode_heatmaps(maps)
    assert coords[0, 0].tolist() == [4.25, 2.75]
    assert coords[0, 1].tolist() == [0.0, 0.0]
    assert scores[0].tolist() == [1.0, 1.0]


def test_heatmap_mapping_round_trip_and_flip_symmetry():
    points = torch.tensor([[0.0, 0.0], [191.0, 255.0], [37.5, 100.25]])
    hm = input_to_heatmap(points, (256, 192), (64, 48))
    assert torch.allclose(heatmap_to_input(hm, (64, 48), (256, 192)), points)
    # Mirroring the input mirrors the heatmap exactly (pixel-centre convention).
    mirrored = points.clone()
    mirrored[:, 0] = 191.0 - points[:, 0]
    hm_mirrored = input_to_heatmap(mirrored, (256, 192), (64, 48))
    assert torch.allclose(hm_mirrored[:, 0], 47.0 - hm[:, 0])


def test_flip_back_swaps_pairs_and_mirrors():
    maps = torch.zeros(1, 4, 3, 5)
    maps[0, 1, 1, 0] = 1.0
    back = flip_back(maps, [(1, 2)])
    assert back[0, 2, 1, 4] == 1.0 and back[0, 1].sum() == 0


def test_step_lr_milestones():
    assert step_lr(0.0, 1.0, (0.5, 0.9)) == 1.0
    assert step_lr(0.5, 1.0, (0.5, 0.9)) == pytest.approx(0.1)
    assert step_lr(0.95, 1.0, (0.5, 0.9)) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        step_lr(1.5, 1.0, (0.5,))
