"""Tests of the BasicVSR model family, SpyNet and flow warping."""

import pytest
import torch
from torch import Tensor

from fedvideo.tasks.vsr.models import (
    FULL_SPYNET_PRESETS,
    VSR_MODELS,
    BasicVSR,
    SpyNet,
    build_vsr_model,
    flow_warp,
    load_spynet_weights,
)
from fedvideo.tasks.vsr.models.basicvsr import upsampled_base

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")


def _clip(b: int, t: int, h: int, w: int) -> Tensor:
    return torch.rand(b, t, 3, h, w)


# --- flow_warp --------------------------------------------------------------


@pytest.mark.parametrize("align_corners", [True, False])
def test_flow_warp_zero_flow_is_identity(align_corners):
    x = torch.rand(2, 5, 7, 9)
    out = flow_warp(x, torch.zeros(2, 2, 7, 9), align_corners=align_corners)
    torch.testing.assert_close(out, x)


@pytest.mark.parametrize("align_corners", [True, False])
def test_flow_warp_integer_flow_shifts(align_corners):
    x = torch.rand(1, 3, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 2.0  # sample 2 pixels to the right
    flow[:, 1] = -1.0  # and 1 pixel up
    out = flow_warp(x, flow, align_corners=align_corners)
    # out[y, x] = x[y - 1, x + 2] where that exists, zeros elsewhere.
    torch.testing.assert_close(out[..., 1:, :-2], x[..., :-1, 2:])
    # Outside the image: zeros (up to grid_sample's coordinate rounding).
    assert out[..., 0, :].abs().max() < 1e-5
    assert out[..., :, -2:].abs().max() < 1e-5


def test_flow_warp_keeps_dtype_and_checks_shapes():
    x = torch.rand(1, 4, 5, 5, dtype=torch.bfloat16)
    assert flow_warp(x, torch.zeros(1, 2, 5, 5)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="flow"):
        flow_warp(torch.rand(1, 4, 5, 5), torch.zeros(1, 5, 5, 2))


# --- SpyNet -----------------------------------------------------------------


def test_spynet_key_layout_matches_basicsr():
    state = SpyNet().state_dict()
    expected = {
        f"basic_module.{level}.basic_module.{i}.{kind}"
        for level in range(6)
        for i in (0, 2, 4, 6, 8)
        for kind in ("weight", "bias")
    }
    assert set(state) == expected  # mean/std are not part of it
    shapes = [(32, 8, 7, 7), (64, 32, 7, 7), (32, 64, 7, 7), (16, 32, 7, 7)]
    for i, shape in zip((0, 2, 4, 6), shapes, strict=True):
        assert state[f"basic_module.0.basic_module.{i}.weight"].shape == shape
    assert state["basic_module.5.basic_module.8.weight"].shape == (2, 16, 7, 7)
    assert state["basic_module.5.basic_module.8.bias"].shape == (2,)


def test_spynet_width_scales_hidden_channels():
    state = SpyNet(num_levels=3, width=0.25).state_dict()
    assert len(state) == 3 * 10
    assert state["basic_module.0.basic_module.0.weight"].shape == (8, 8, 7, 7)
    assert state["basic_module.2.basic_module.8.weight"].shape == (2, 4, 7, 7)


@pytest.mark.parametrize("size", [(13, 17), (32, 32), (20, 36)])
def test_spynet_any_size(size):
    net = SpyNet(num_levels=4, width=0.25)
    flow = net(torch.rand(2, 3, *size), torch.rand(2, 3, *size))
    assert flow.shape == (2, 2, *size)
    assert torch.isfinite(flow).all()


def test_spynet_rescales_flow_to_input_size():
    class ConstantFlow(SpyNet):
        def _pyramid_flow(self, ref: Tensor, supp: Tensor) -> Tensor:
            return ref.new_ones(ref.size(0), 2, *ref.shape[-2:])

    flow = ConstantFlow(num_levels=6)(
        torch.rand(1, 3, 13, 17), torch.rand(1, 3, 13, 17)
    )
    # Computed at 32x32, so 1 px there is 17/32 px in x and 13/32 px in y here.
    torch.testing.assert_close(flow[:, 0], torch.full((1, 13, 17), 17 / 32))
    torch.testing.assert_close(flow[:, 1], torch.full((1, 13, 17), 13 / 32))


def test_load_spynet_weights_round_trip(tmp_path):
    source = SpyNet(num_levels=2, width=0.5)
    state = source.state_dict()
    files = {
        "raw.pth": state,
        "params.pth": {"params": state},
        "wrapped.pth": {"state_dict": {**state, "mean": source.mean}},
    }
    for name, obj in files.items():
        torch.save(obj, tmp_path / name)
        target = SpyNet(num_levels=2, width=0.5)
        assert load_spynet_weights(target, tmp_path / name) is None
        for key, value in target.state_dict().items():
            torch.testing.assert_close(value, state[key])


def test_load_spynet_weights_mismatch_errors(tmp_path):
    path = tmp_path / "narrow.pth"
    torch.save({"params": SpyNet(width=0.5).state_dict()}, path)
    with pytest.raises(ValueError, match="mismatched shapes") as info:
        load_spynet_weights(SpyNet(), path)
    assert str(path) in str(info.value)
    assert "basic_module.0.basic_module.0.weight" in str(info.value)

    path = tmp_path / "short.pth"
    torch.save(
        {**SpyNet(num_levels=5).state_dict(), "extra.weight": torch.ones(1)}, path
    )
    with pytest.raises(ValueError, match="missing keys: basic_module.5") as info:
        load_spynet_weights(SpyNet(), path)
    assert "unexpected keys: extra.weight" in str(info.value)

    path = tmp_path / "junk.pth"
    torch.save({"params": [1, 2, 3]}, path)
    with pytest.raises(ValueError, match="junk.pth"):
        load_spynet_weights(SpyNet(), path)


# --- BasicVSR and presets ---------------------------------------------------


@pytest.mark.parametrize("name", ["basicvsr-tiny", "basicvsr-small"])
@pytest.mark.parametrize("scale", [4, 2])
def test_preset_output_shape(name, scale):
    model = build_vsr_model(name, scale=scale)
    out = model(_clip(2, 3, 8, 12))
    assert out.shape == (2, 3, 3, 8 * scale, 12 * scale)
    assert out.is_contiguous()
    assert torch.isfinite(out).all()


def test_full_basicvsr_parameter_count_and_forward():
    model = build_vsr_model("basicvsr")
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params - 6.3e6) < 0.05e6  # published: 6.3 M
    with torch.no_grad():
        out = model(_clip(1, 2, 8, 8))
    assert out.shape == (1, 2, 3, 32, 32)


@pytest.mark.parametrize("t", [1, 4])
def test_odd_frame_size_and_length(t):
    model = build_vsr_model("basicvsr-tiny")
    out = model(_clip(1, t, 13, 17))
    assert out.shape == (1, t, 3, 52, 68)


def test_chunked_reconstruction_matches_single_call():
    model = build_vsr_model("basicvsr-tiny").eval()
    clip = _clip(2, 5, 8, 8)
    with torch.no_grad():
        whole = model(clip)
        model.recon_chunk_pixels = 1  # one frame per call
        framewise = model(clip)
    torch.testing.assert_close(framewise, whole)


def test_gradients_reach_flow_and_reconstruction_from_the_second_step():
    model = build_vsr_model("basicvsr-tiny")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    clip, target = _clip(2, 3, 8, 8), _clip(2, 3, 32, 32)
    # A fresh model: the zero last layer stops every gradient but its own.
    (model(clip) - target).square().mean().backward()
    moving = {n for n, p in model.named_parameters() if p.grad.abs().sum() > 0}
    assert moving == {"conv_last.weight", "conv_last.bias"}
    optimizer.step()
    optimizer.zero_grad()
    (model(clip) - target).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("name", sorted(VSR_MODELS))
@pytest.mark.parametrize("scale", [4, 2])
def test_fresh_preset_outputs_exactly_its_upsampling(name, scale):
    model = build_vsr_model(name, scale=scale).eval()
    clip = _clip(1, 5, 12, 16)
    with torch.no_grad():
        out = model(clip)
    base = upsampled_base(clip.flatten(0, 1), scale, model.base_upsampling)
    assert torch.equal(out, base.view_as(out))
    expected = "bicubic" if name.endswith("-tiny") else "bilinear"
    assert model.base_upsampling == expected


def test_cpu_autocast_bfloat16():
    model = build_vsr_model("basicvsr-tiny")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(_clip(1, 3, 8, 8))
    assert out.shape == (1, 3, 3, 32, 32)
    assert torch.isfinite(out.float()).all()


def test_invalid_scale_and_input():
    with pytest.raises(ValueError, match="scale"):
        BasicVSR(num_feat=4, num_blocks=0, scale=3)
    model = build_vsr_model("basicvsr-tiny")
    with pytest.raises(ValueError, match=r"\(B, T, 3, h, w\)"):
        model(torch.rand(1, 3, 8, 8))


def test_build_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown VSR model") as info:
        build_vsr_model("edvr")
    for name in VSR_MODELS:
        assert name in str(info.value)


def test_build_with_flow_weights(tmp_path):
    path = tmp_path / "spynet.pth"
    reference = SpyNet()
    torch.save({"params": reference.state_dict()}, path)
    model = build_vsr_model("basicvsr-small", flow_weights=str(path))
    assert isinstance(model, BasicVSR)
    for key, value in model.spynet.state_dict().items():
        torch.testing.assert_close(value, reference.state_dict()[key])
    # "" means no weights
    assert isinstance(build_vsr_model("basicvsr-tiny", flow_weights=""), BasicVSR)
    with pytest.raises(ValueError, match="full SpyNet"):
        build_vsr_model("basicvsr-tiny", flow_weights=str(path))


def test_full_spynet_presets_are_full():
    for name in FULL_SPYNET_PRESETS:
        spynet = VSR_MODELS[name](num_blocks=0).spynet
        assert (spynet.width, spynet.num_levels) == (1.0, 6)
