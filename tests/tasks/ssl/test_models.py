"""R3D-18 backbone strides and export, CtP head shapes and RoI pooling."""

import pytest
import torch
from torchvision.models.video import r3d_18

from fedvideo.tasks.ssl.models.ctp import OFFICIAL_FC_INIT_STD, CtPHead, CtPModel
from fedvideo.tasks.ssl.models.r3d import (
    R3DBackbone,
    load_r3d18_backbone,
    r3d18_classifier,
)


def test_pretrain_stride_keeps_time_stride_drops_layer4_space_stride():
    clip = torch.randn(1, 3, 16, 64, 64)
    with torch.no_grad():
        pre = R3DBackbone(pretrain_stride=True).eval()(clip)
        std = R3DBackbone(pretrain_stride=False).eval()(clip)
    assert pre.shape == (1, 512, 2, 8, 8)  # 16x112x112 -> 2x14x14 in the paper
    assert std.shape == (1, 512, 2, 4, 4)


def test_backbone_matches_torchvision_r3d18_keys_and_outputs():
    torch.manual_seed(0)
    backbone = R3DBackbone(pretrain_stride=False).eval()
    network = r3d_18(weights=None).eval()
    result = network.load_state_dict(backbone.state_dict(), strict=False)
    assert sorted(result.missing_keys) == ["fc.bias", "fc.weight"]
    assert result.unexpected_keys == []
    clip = torch.randn(1, 3, 16, 32, 32)
    with torch.no_grad():
        pooled = backbone(clip).mean(dim=(2, 3, 4))
        network.fc = torch.nn.Identity()
        torch.testing.assert_close(pooled, network(clip))


def test_pretrained_weights_are_shape_compatible_with_standard_strides():
    pretrain = R3DBackbone(pretrain_stride=True)
    standard = R3DBackbone(pretrain_stride=False)
    standard.load_state_dict(pretrain.state_dict(), strict=True)


def test_load_r3d18_backbone_rejects_foreign_state():
    network = r3d18_classifier(num_classes=5, dropout=0.5)
    with pytest.raises(ValueError, match="not an R3D-18 backbone"):
        load_r3d18_backbone(network, {"conv.weight": torch.zeros(1)})
    load_r3d18_backbone(network, R3DBackbone().state_dict())
    assert network.fc[1].out_features == 5


def test_ctp_model_predicts_deltas_per_patch_and_frame():
    model = CtPModel(num_frames=16)
    clips = torch.randn(2, 3, 16, 64, 64)
    rois = torch.tensor([[[4.0, 4.0, 20.0, 28.0]] * 3] * 2)
    deltas = model(clips, rois)
    assert deltas.shape == (2, 3, 16, 4)
    deltas.square().mean().backward()
    assert model.backbone.stem[0].weight.grad is not None
    assert model.head.temporal.weight.grad is not None


def test_ctp_head_pools_the_given_box():
    # A feature map that is 1 inside one 8-pixel cell and 0 elsewhere: the RoI over
    # that cell and an RoI elsewhere must pool different features.
    head = CtPHead(num_frames=16, in_channels=4, hidden=4)
    with torch.no_grad():
        head.fc1.weight.normal_()  # the official init is near zero
        head.fc2.weight.normal_()
        head.temporal.weight.zero_()
        head.temporal.bias.zero_()
        head.temporal.weight[:, :, 0, 0, 0] = torch.eye(4)
    features = torch.zeros(1, 4, 2, 8, 8)
    features[0, :, 0, 2, 3] = 1.0  # pixels x in [24, 32), y in [16, 24) at stride 8
    inside = torch.tensor([[[24.0, 16.0, 32.0, 24.0]]])
    outside = torch.tensor([[[40.0, 40.0, 48.0, 48.0]]])
    hit = head(features, inside)
    miss = head(features, outside)
    base = head(torch.zeros_like(features), inside)
    assert not torch.allclose(hit, base)
    torch.testing.assert_close(miss, base)


def test_ctp_head_pools_at_stride_8_for_crops_not_divisible_by_8():
    # A 36-px crop gives a 5-cell map (ceil division), a 64-px crop an 8-cell one;
    # the cell at x [24, 32), y [16, 24) is pooled the same way in both.
    head = CtPHead(num_frames=16, in_channels=4, hidden=4)
    with torch.no_grad():
        head.fc1.weight.normal_()
        head.fc2.weight.normal_()
    rois = torch.tensor([[[24.0, 16.0, 32.0, 24.0]]])
    outputs = []
    for cells in (5, 8):
        features = torch.zeros(1, 4, 2, cells, cells)
        features[0, :, :, 2, 3] = 1.0
        outputs.append(head(features, rois))
    torch.testing.assert_close(outputs[0], outputs[1])


def test_ctp_head_is_initialised_as_the_official_one():
    torch.manual_seed(0)
    head = CtPHead(num_frames=16, in_channels=512, hidden=512)
    fan_out = 512 * 2  # out channels x kernel (2, 1, 1)
    expected = (2.0 / fan_out) ** 0.5
    assert head.temporal.weight.std().item() == pytest.approx(expected, rel=0.02)
    for layer in (head.fc1, head.fc2):
        assert layer.weight.std().item() == pytest.approx(0.001, rel=0.02)
        assert layer.weight.mean().abs().item() < 1e-4
    for bias in (head.temporal.bias, head.fc1.bias, head.fc2.bias):
        assert not bias.any()
    # A fresh model predicts (almost) no motion.
    model = CtPModel(num_frames=16)
    rois = torch.tensor([[[4.0, 4.0, 20.0, 28.0]] * 3])
    with torch.no_grad():
        deltas = model(torch.randn(1, 3, 16, 64, 64), rois)
    assert deltas.abs().max().item() < 0.01


def test_ctp_head_init_std_scales_only_the_linear_layers():
    torch.manual_seed(0)
    head = CtPHead(num_frames=16, fc_init_std=0.01)
    fan_out = 512 * 2  # the temporal convolution keeps its Kaiming init
    expected = (2.0 / fan_out) ** 0.5
    assert head.temporal.weight.std().item() == pytest.approx(expected, rel=0.02)
    assert head.fc1.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert head.fc2.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert not head.fc1.bias.any() and not head.fc2.bias.any()
    model = CtPModel(num_frames=16, head_init_std=0.01)
    assert model.head.fc_init_std == 0.01
    assert CtPModel(num_frames=16).head.fc_init_std == OFFICIAL_FC_INIT_STD == 0.001
    with pytest.raises(ValueError, match="fc_init_std must be > 0"):
        CtPHead(fc_init_std=0.0)


def test_ctp_head_needs_two_time_steps():
    with pytest.raises(ValueError, match="16-frame clips"):
        CtPHead()(torch.zeros(1, 512, 1, 4, 4), torch.zeros(1, 1, 4))
