"""Tests of EDVR: window indices, deformable convolution wiring, PCD, TSA, contract."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import deform_conv2d

from fedvideo.tasks.vsr.models.edvr import (
    EDVR,
    DCNv2Pack,
    ModulatedDeformConv2d,
    TSAFusion,
    deform_conv2d_grid_sample,
    edvr_m,
    edvr_tiny,
    sliding_window_indices,
)

BACKENDS = ("torchvision", "grid_sample")


pytestmark = pytest.mark.usefixtures("one_thread", "seeded")


def _micro(**kwargs) -> EDVR:
    """A very small EDVR with every component (PCD, TSA, both upsamplers)."""
    config = {
        "num_feat": 8,
        "num_frames": 5,
        "deformable_groups": 2,
        "num_extract_block": 1,
        "num_reconstruct_block": 1,
        "upsample_feat": 4,
    }
    return EDVR(**(config | kwargs))


def _clip(b: int, t: int, h: int, w: int) -> Tensor:
    return torch.rand(b, t, 3, h, w)


def _perturb_offsets(model: torch.nn.Module, std: float = 0.5) -> None:
    """Give every DCN pack non-zero offsets and masks, as after training."""
    for module in model.modules():
        if isinstance(module, DCNv2Pack):
            with torch.no_grad():
                module.conv_offset.weight.normal_(0.0, 0.05)
                module.conv_offset.bias.normal_(0.0, std)


# --- sliding_window_indices -------------------------------------------------


def test_window_indices_by_hand():
    assert sliding_window_indices(1, 5).tolist() == [[0, 0, 0, 0, 0]]
    assert sliding_window_indices(2, 5).tolist() == [
        [0, 1, 0, 1, 0],
        [1, 0, 1, 0, 1],
    ]
    assert sliding_window_indices(3, 5).tolist() == [
        [2, 1, 0, 1, 2],
        [1, 0, 1, 2, 1],
        [0, 1, 2, 1, 0],
    ]
    assert sliding_window_indices(6, 5).tolist() == [
        [2, 1, 0, 1, 2],
        [1, 0, 1, 2, 3],
        [0, 1, 2, 3, 4],
        [1, 2, 3, 4, 5],
        [2, 3, 4, 5, 4],
        [3, 4, 5, 4, 3],
    ]
    assert sliding_window_indices(4, 3).tolist() == [
        [1, 0, 1],
        [0, 1, 2],
        [1, 2, 3],
        [2, 3, 2],
    ]
    assert sliding_window_indices(3, 1).tolist() == [[0], [1], [2]]


@pytest.mark.parametrize("t", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n", [1, 3, 5, 7, 9])
def test_window_indices_match_numpy_reflect(t, n):
    idx = sliding_window_indices(t, n)
    assert idx.dtype == torch.int64 and idx.shape == (t, n)
    assert torch.equal(idx[:, n // 2], torch.arange(t))
    assert idx.min() >= 0 and idx.max() <= t - 1
    padded = np.pad(np.arange(t), n // 2, mode="reflect" if t > 1 else "edge")
    expected = np.stack([padded[i : i + n] for i in range(t)])
    assert idx.tolist() == expected.tolist()


def test_window_indices_reject_bad_arguments():
    with pytest.raises(ValueError, match="at least 1 frame"):
        sliding_window_indices(0, 5)
    with pytest.raises(ValueError, match="positive odd"):
        sliding_window_indices(5, 4)
    with pytest.raises(ValueError, match="positive odd"):
        sliding_window_indices(5, 0)


# --- deformable convolution -------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_offset_unit_mask_is_plain_conv(backend):
    conv = ModulatedDeformConv2d(
        6, 5, 3, padding=1, deformable_groups=3, backend=backend
    )
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 6, 7, 9)
    offset = torch.zeros(2, conv.offset_channels, 7, 9)
    expected = F.conv2d(x, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(conv(x, offset), expected, atol=1e-5, rtol=1e-5)
    ones = torch.ones(2, conv.mask_channels, 7, 9)
    torch.testing.assert_close(conv(x, offset, ones), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_initialised_pack_is_conv_with_initial_mask(backend):
    # conv_offset starts at zero: offsets 0 and masks sigmoid(0) = 0.5 (as in
    # DCNv2 and BasicSR), so the pack is a plain conv whose taps are halved.
    pack = DCNv2Pack(8, 4, 3, padding=1, deformable_groups=4, backend=backend)
    assert not pack.conv_offset.weight.any() and not pack.conv_offset.bias.any()
    with torch.no_grad():
        pack.bias.normal_()
    x, feat = torch.randn(2, 8, 6, 5), torch.randn(2, 8, 6, 5)
    expected = F.conv2d(x, 0.5 * pack.weight, pack.bias, padding=1)
    torch.testing.assert_close(pack(x, feat), expected, atol=1e-5, rtol=1e-5)
    # The same with the mask at 1: the pack is exactly the regular convolution.
    with torch.no_grad():
        pack.conv_offset.bias[pack.offset_channels :] = 30.0
    expected = F.conv2d(x, pack.weight, pack.bias, padding=1)
    torch.testing.assert_close(pack(x, feat), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_offset_shifts_the_sampling(backend):
    # Every tap displaced one pixel to the right (dx = 1, dy = 0), which checks
    # the (dy, dx) layout of the offset channels.
    conv = ModulatedDeformConv2d(
        4, 3, 3, padding=1, deformable_groups=2, backend=backend
    )
    x = torch.randn(1, 4, 5, 6)
    offset = torch.zeros(1, conv.offset_channels // 2, 2, 5, 6)
    offset[:, :, 1] = 1.0
    out = conv(x, offset.flatten(1, 2))
    # out[i, j] = sum over taps of w[ky, kx] · x[i + ky - 1, j + kx], zero outside.
    expected = F.conv2d(F.pad(x, (0, 2, 1, 1)), conv.weight, conv.bias)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_zero_offset_changes_the_output(backend):
    pack = DCNv2Pack(8, 8, 3, padding=1, deformable_groups=2, backend=backend)
    x, feat = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    before = pack(x, feat)
    with torch.no_grad():
        pack.conv_offset.bias[: pack.offset_channels].normal_(0.0, 1.0)
    after = pack(x, feat)
    assert (after - before).abs().max() > 1e-2


@pytest.mark.parametrize(
    ("shape", "stride", "padding", "dilation", "groups"),
    [
        ((2, 8, 7, 9), 1, 1, 1, 4),
        ((2, 6, 8, 5), 2, 1, 1, 3),
        ((1, 4, 6, 7), 1, 2, 2, 1),
        ((2, 4, 1, 1), 1, 1, 1, 2),
    ],
)
def test_grid_sample_deform_conv_matches_torchvision(
    shape, stride, padding, dilation, groups
):
    n, c, h, w = shape
    h_out = (h + 2 * padding - 2 * dilation - 1) // stride + 1
    w_out = (w + 2 * padding - 2 * dilation - 1) // stride + 1
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    offset = 2 * torch.randn(n, 2 * groups * 9, h_out, w_out, dtype=torch.float64)
    offset.requires_grad_()
    mask = torch.rand(n, groups * 9, h_out, w_out, dtype=torch.float64)
    mask.requires_grad_()
    weight = torch.randn(5, c, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
    inputs = (x, offset, mask, weight, bias)
    kw = {"stride": stride, "padding": padding, "dilation": dilation}

    results = []
    for op in (deform_conv2d, deform_conv2d_grid_sample):
        out = op(x, offset, weight, bias, mask=mask, **kw)
        grads = torch.autograd.grad(out.square().sum(), inputs)
        results.append((out, grads))
    (ref, ref_grads), (out, grads) = results
    torch.testing.assert_close(out, ref)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad)


def test_deform_conv_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divisible by deformable_groups"):
        ModulatedDeformConv2d(6, 6, deformable_groups=4)
    with pytest.raises(ValueError, match="backend"):
        ModulatedDeformConv2d(6, 6, backend="cuda")
    with pytest.raises(ValueError, match="offset has"):
        deform_conv2d_grid_sample(
            torch.rand(1, 6, 4, 4), torch.zeros(1, 17, 4, 4), torch.rand(6, 6, 3, 3)
        )


# --- EDVR -------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("t", [1, 2, 3, 6])
def test_output_shapes(scale, t):
    model = _micro(scale=scale).eval()
    lrs = _clip(2, t, 7, 5)
    with torch.no_grad():
        out = model(lrs)
    assert out.shape == (2, t, 3, scale * 7, scale * 5)
    assert out.is_contiguous() and torch.isfinite(out).all()


@pytest.mark.parametrize("scale", [2, 4])
def test_tiny_preset_on_odd_sizes(scale):
    model = edvr_tiny(scale=scale).eval()
    assert model.sliding_window and model.window == 5
    with torch.no_grad():
        out = model(_clip(1, 2, 15, 17))
    assert out.shape == (1, 2, 3, scale * 15, scale * 17)


def test_sliding_window_attributes():
    assert EDVR.sliding_window is True
    model = _micro(num_frames=3)
    assert model.window == 3 and model.center_frame_idx == 1
    assert _micro(num_frames=7).window == 7


@pytest.mark.parametrize(("h", "w"), [(8, 8), (6, 7), (1, 2)])
def test_zero_residual_is_the_upsampled_frame(h, w):
    # With conv_last at zero the output is the base: each frame's own bicubic
    # upsampling, also where the input was padded to a multiple of 4.
    model = _micro(scale=4, base_upsampling="bicubic").eval()
    nn_init = torch.nn.init
    nn_init.zeros_(model.conv_last.weight)
    nn_init.zeros_(model.conv_last.bias)
    lrs = _clip(2, 3, h, w)
    with torch.no_grad():
        out = model(lrs)
    expected = F.interpolate(
        lrs.flatten(0, 1), scale_factor=4, mode="bicubic", align_corners=False
    ).unflatten(0, (2, 3))
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)


def test_each_frame_is_restored_from_its_mirrored_window():
    model = _micro().eval()
    _perturb_offsets(model)
    lrs = _clip(2, 6, 8, 6)
    idx = sliding_window_indices(6, 5)
    with torch.no_grad():
        out = model(lrs)
        for t in (0, 2, 5):
            expected = model.forward_center(lrs[:, idx[t]])
            torch.testing.assert_close(out[:, t], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 2, 4])
def test_chunked_forward_equals_unchunked(chunk):
    model = _micro().eval()
    _perturb_offsets(model)
    lrs = _clip(2, 5, 7, 9)
    with torch.no_grad():
        full = model(lrs)
        chunked = model(lrs, chunk_size=chunk)
        model.chunk_size = chunk
        default_chunked = model(lrs)
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(default_chunked, full, atol=1e-5, rtol=1e-5)


def test_backends_agree_on_the_whole_model():
    tv = _micro(dcn_backend="torchvision").eval()
    _perturb_offsets(tv)
    gs = _micro(dcn_backend="grid_sample").eval()
    gs.load_state_dict(tv.state_dict())
    lrs = _clip(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(gs(lrs), tv(lrs), atol=1e-5, rtol=1e-5)


def test_gradients_reach_offsets_and_tsa():
    model = _micro()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    clip = _clip(2, 3, 8, 8)

    def backward() -> None:
        model.zero_grad()
        model(clip).square().mean().backward()

    # Step 1: the residual branch ends in a zero layer, the only one that learns.
    backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
    moving = {n for n, p in model.named_parameters() if p.grad.abs().sum() > 0}
    assert moving == {"conv_last.weight", "conv_last.bias"}
    # Step 2: offsets and masks start at zero but learn as soon as it has moved.
    optimizer.step()
    backward()
    packs = {
        name: module
        for name, module in model.pcd_align.named_modules()
        if isinstance(module, DCNv2Pack)
    }
    assert sorted(packs) == ["cas_dcnpack", "dcn_pack.l1", "dcn_pack.l2", "dcn_pack.l3"]
    for name, pack in packs.items():
        assert pack.conv_offset.weight.grad.abs().sum() > 0, name
        assert pack.conv_offset.bias.grad.abs().sum() > 0, name
    # TSA's last mask and additive convolutions start at zero too, so the
    # layers before them follow two steps later: every parameter by step 4.
    for _ in range(2):
        optimizer.step()
        backward()
    for name, param in model.named_parameters():
        assert param.grad.abs().sum() > 0, name


def test_fresh_tsa_passes_the_fused_features_unchanged():
    fusion = TSAFusion(num_feat=8, num_frame=3, center_frame_idx=1)
    aligned = torch.rand(2, 3, 8, 8, 8)
    with torch.no_grad():
        embedding_ref = fusion.temporal_attn1(aligned[:, 1])
        embedding = fusion.temporal_attn2(aligned.flatten(0, 1)).unflatten(0, (2, 3))
        corr = (embedding * embedding_ref.unsqueeze(1)).sum(2, keepdim=True)
        weighted = (aligned * torch.sigmoid(corr)).flatten(1, 2)
        expected = F.leaky_relu(fusion.feat_fusion(weighted), 0.1)
        torch.testing.assert_close(fusion(aligned), expected)


@pytest.mark.parametrize("with_tsa", [True, False])
def test_fresh_alignment_and_fusion_keep_the_signal_scale(with_tsa):
    # BasicSR's default initialisation shrank the PCD output about 40 times,
    # which kept edvr-tiny at the bicubic baseline (docs/models.md).
    torch.manual_seed(0)
    model = edvr_tiny(with_tsa=with_tsa)
    feats = {}
    for name in ("feature_extraction", "pcd_align", "fusion"):
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: feats.__setitem__(name, out.std().item())
        )
    with torch.no_grad():
        model(_clip(1, 5, 16, 16))
    assert feats["pcd_align"] > 0.5 * feats["feature_extraction"]
    assert feats["fusion"] > 0.25 * feats["feature_extraction"]


def test_without_tsa():
    model = _micro(with_tsa=False).eval()
    assert isinstance(model.fusion, torch.nn.Conv2d)
    with torch.no_grad():
        assert model(_clip(1, 2, 5, 6)).shape == (1, 2, 3, 20, 24)


def test_parameter_counts():
    def count(model):
        return sum(p.numel() for p in model.parameters())

    # BasicSR's EDVR-M: about 3.3 M parameters.
    n4, n2 = count(edvr_m()), count(edvr_m(scale=2))
    assert 3_250_000 < n4 < 3_350_000
    assert n4 == 3_300_131
    # Scale 2 drops upconv2 (64 -> 4·64 channels, 3×3).
    assert n4 - n2 == 64 * 256 * 9 + 256
    assert 500_000 < count(edvr_tiny()) < 700_000
    assert count(edvr_m(dcn_backend="torchvision")) == n4


def test_bad_inputs_raise():
    model = _micro()
    with pytest.raises(ValueError, match=r"\(B, T, 3, h, w\)"):
        model(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, T, 3, h, w\)"):
        model(torch.rand(1, 2, 4, 8, 8))
    with pytest.raises(ValueError, match="non-empty"):
        model(torch.rand(1, 0, 3, 8, 8))
    with pytest.raises(ValueError, match="non-empty"):
        model(torch.rand(1, 2, 3, 0, 8))
    with pytest.raises(ValueError, match="chunk_size"):
        model(torch.rand(1, 2, 3, 8, 8), chunk_size=0)
    with pytest.raises(ValueError, match="windows of 5 frames"):
        model.forward_center(torch.rand(1, 3, 3, 8, 8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 3}, "scale"),
        ({"num_frames": 4}, "num_frames"),
        ({"num_frames": 0}, "num_frames"),
        ({"deformable_groups": 3}, "deformable_groups"),
        ({"num_feat": 0}, "num_feat"),
        ({"num_reconstruct_block": -1}, "num_reconstruct_block"),
        ({"base_upsampling": "nearest"}, "base_upsampling"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"dcn_backend": "cuda"}, "dcn_backend"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _micro(**kwargs)
