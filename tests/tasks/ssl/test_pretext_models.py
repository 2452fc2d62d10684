"""VCOP and Speed pretext models: shapes, head structure, init, export, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.video import r3d_18

from fedvideo.tasks.ssl.models.speed import SPEED_STRIDES, SpeedHead, SpeedModel
from fedvideo.tasks.ssl.models.vcop import VCOPHead, VCOPModel

#: (model factory, input shape for batch 2 of 8-frame 32-px clips, classes)
CASES = {
    "vcop": (VCOPModel, (2, 3, 3, 8, 32, 32), 6),
    "speed": (SpeedModel, (2, 3, 8, 32, 32), 7),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    factory, shape, num_classes = CASES[request.param]
    torch.manual_seed(0)
    return factory(), shape, num_classes


def test_logits_shape_and_class_count(case) -> None:
    model, shape, num_classes = case
    with torch.no_grad():
        logits = model(torch.randn(shape))
    assert logits.shape == (2, num_classes)
    assert model.num_classes == num_classes


def test_speed_has_seven_classes_and_vcop_six() -> None:
    assert SPEED_STRIDES == (-4, -2, -1, 0, 1, 2, 4)
    assert SpeedHead().num_classes == len(SPEED_STRIDES) == 7
    assert VCOPHead(num_clips=3).num_classes == math.factorial(3) == 6
    assert VCOPHead(num_clips=4).num_classes == 24


def test_backbone_has_standard_strides(case) -> None:
    model, _, _ = case
    features = model.backbone(torch.zeros(1, 3, 8, 32, 32))
    assert features.shape == (1, 512, 1, 2, 2)  # stride 16 in space, not 8


def test_fresh_model_predicts_nearly_uniform(case) -> None:
    # The cross-entropy averaged over the K possible labels is ln K plus about
    # half the logits' variance: 0.1 % (VCOP) and 0.02 % (Speed) above ln K with
    # the N(0, 0.001) classifier, 28 % and 12 % with torch's default init.
    model, shape, num_classes = case
    model.train()  # dropout on, as in pretraining
    with torch.no_grad():
        logits = model(torch.randn(shape))
    labels = torch.arange(num_classes).repeat_interleave(2)
    loss = F.cross_entropy(logits.repeat(num_classes, 1), labels)
    assert abs(loss.item() - math.log(num_classes)) < 0.01 * math.log(num_classes)
    deviation = (logits.softmax(dim=1) - 1 / num_classes).abs().max().item()
    assert deviation < 0.25 / num_classes


def test_state_dict_is_backbone_and_head_and_exports_to_r3d18(case) -> None:
    model, _, _ = case
    keys = list(model.state_dict())
    assert keys and all(k.startswith(("backbone.", "head.")) for k in keys)
    assert any(k.startswith("head.") for k in keys)
    backbone = {
        k.removeprefix("backbone."): v
        for k, v in model.state_dict().items()
        if k.startswith("backbone.")
    }
    result = r3d_18(weights=None).load_state_dict(backbone, strict=False)
    assert sorted(result.missing_keys) == ["fc.bias", "fc.weight"]
    assert result.unexpected_keys == []


def test_gradient_reaches_backbone_and_head(case) -> None:
    model, shape, num_classes = case
    logits = model(torch.randn(shape))
    F.cross_entropy(logits, torch.tensor([0, num_classes - 1])).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert model.backbone.layer4[1].conv2[0].weight.grad.abs().sum() > 0
    assert model.head.fc.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("head_factory", [VCOPHead, SpeedHead])
def test_head_init_small_last_layer_zero_biases(head_factory) -> None:
    torch.manual_seed(0)
    head = head_factory()
    assert head.fc.weight.std().item() == pytest.approx(0.001, rel=0.05)
    assert head.fc.weight.mean().abs().item() < 1e-4
    for name, param in head.named_parameters():
        if name.endswith("bias"):
            assert torch.count_nonzero(param) == 0, name


def test_vcop_pair_layer_kaiming_fan_out() -> None:
    torch.manual_seed(0)
    head = VCOPHead()
    assert head.pair_fc.in_features == 1024 and head.pair_fc.out_features == 512
    assert head.fc.in_features == 1536
    expected = math.sqrt(2 / 512)  # Kaiming normal, ReLU gain, fan-out
    assert head.pair_fc.weight.std().item() == pytest.approx(expected, rel=0.02)


def test_vcop_head_matches_pairwise_reference() -> None:
    torch.manual_seed(0)
    head = VCOPHead().eval()
    torch.nn.init.normal_(head.fc.weight, std=0.05)  # visible logits
    torch.nn.init.normal_(head.pair_fc.bias, std=0.1)
    features = torch.randn(2, 3, 512, 1, 2, 2)
    pooled = features.mean(dim=(3, 4, 5))
    pairs = [
        F.relu(head.pair_fc(torch.cat([pooled[:, i], pooled[:, j]], 1)))
        for i, j in ((0, 1), (0, 2), (1, 2))
    ]
    expected = head.fc(torch.cat(pairs, 1))
    with torch.no_grad():
        torch.testing.assert_close(head(features), expected)
        swapped = head(features[:, [1, 0, 2]])
    assert not torch.allclose(swapped, expected)  # the order matters


def test_vcop_model_runs_each_clip_through_the_backbone() -> None:
    torch.manual_seed(0)
    model = VCOPModel().eval()
    torch.nn.init.normal_(model.head.fc.weight, std=0.05)
    clips = torch.randn(2, 3, 3, 8, 32, 32)
    with torch.no_grad():
        per_clip = torch.stack([model.backbone(clips[:, k]) for k in range(3)], 1)
        torch.testing.assert_close(model(clips), model.head(per_clip))


def test_speed_head_is_pooled_linear_in_eval() -> None:
    torch.manual_seed(0)
    head = SpeedHead().eval()
    features = torch.randn(2, 512, 1, 2, 2)
    with torch.no_grad():
        expected = head.fc(features.mean(dim=(2, 3, 4)))
        torch.testing.assert_close(head(features), expected)


def test_dropout_is_active_in_training_only() -> None:
    torch.manual_seed(0)
    head = SpeedHead(dropout=0.5)
    features = torch.rand(4, 512, 1, 2, 2)
    with torch.no_grad():
        train = head.train()(features)
        evaluated = head.eval()(features)
    assert not torch.allclose(train, evaluated)
    assert head.dropout.p == 0.5 and VCOPHead(dropout=0.5).dropout.p == 0.5


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (VCOPModel, (2, 4, 3, 8, 32, 32)),  # 4 clips for a 3-clip head
        (VCOPModel, (2, 3, 8, 32, 32)),  # a Speed batch
        (SpeedModel, (2, 3, 3, 8, 32, 32)),  # a VCOP batch
    ],
)
def test_wrong_input_shape_raises(model, shape) -> None:
    with pytest.raises((ValueError, RuntimeError)):
        model()(torch.zeros(shape))
