"""Tests of the compact VRT-style video transformer (fedvideo.tasks.vsr.models.vrt)."""

import math

import pytest
import torch

from fedvideo.tasks.vsr.models import vrt
from fedvideo.tasks.vsr.models.vrt import (
    TemporalMutualSelfAttention,
    TMSABlock,
    VideoTransformerSR,
    relative_position_index,
    temporal_pairs,
    vrt_small,
    vrt_tiny,
    window_attention_mask,
    window_partition,
    window_reverse,
)

pytestmark = pytest.mark.usefixtures("seeded")


def _clip(b, t, h, w):
    return torch.rand(b, t, 3, h, w)


def _randomise(module):
    """Weights of unit gain, so that every path's influence is far above rounding.

    At initialisation the attention paths are tiny (linear weights of std 0.02),
    too small to tell "changed" from "unchanged" with a tolerance.
    """
    with torch.no_grad():
        for param in module.parameters():
            fan_in = param[0].numel() if param.dim() > 1 else 4
            param.normal_(0.0, fan_in**-0.5)
    return module.eval()


def _small_model(**kwargs):
    config = {
        "dim": 8,
        "depths": (1, 1),
        "num_heads": 2,
        "window_size": 4,
        "upsample_feat": 4,
    }
    return VideoTransformerSR(**(config | kwargs))


# --- Helpers ----------------------------------------------------------------


def test_temporal_pairs_hand_computed():
    assert temporal_pairs(5, shifted=False) == [(0, 1), (2, 3), (4, 4)]
    assert temporal_pairs(5, shifted=True) == [(0, 0), (1, 2), (3, 4)]
    assert temporal_pairs(4, shifted=False) == [(0, 1), (2, 3)]
    assert temporal_pairs(4, shifted=True) == [(0, 0), (1, 2), (3, 3)]
    assert temporal_pairs(1, shifted=False) == [(0, 0)]
    assert temporal_pairs(1, shifted=True) == [(0, 0)]
    with pytest.raises(ValueError, match="num_frames"):
        temporal_pairs(0, shifted=False)


def test_window_partition_reverse_round_trip():
    x = torch.randn(2, 3, 8, 12, 5)
    windows = window_partition(x, 4)
    assert windows.shape == (2, 6, 3 * 16, 5)
    # window 1 = row 0, column 1; token 0 = frame 0, pixel (0, 4)
    torch.testing.assert_close(windows[0, 1, 0], x[0, 0, 0, 4])
    # token 16 + 1·4 + 2 = frame 1, window pixel (1, 2) = image pixel (1, 6)
    torch.testing.assert_close(windows[1, 1, 22], x[1, 1, 1, 6])
    assert torch.equal(window_reverse(windows, 4, 8, 12), x)
    with pytest.raises(ValueError, match="divisible"):
        window_partition(torch.randn(1, 2, 6, 8, 3), 4)


def test_relative_position_index():
    window = 3
    index = relative_position_index(2, window)
    span = 2 * window - 1
    assert index.shape == (18, 18)
    centre = span * span + (window - 1) * span + (window - 1)
    assert torch.equal(index.diagonal(), torch.full((18,), centre))
    assert index.unique().numel() == 3 * span * span  # every offset occurs
    # token 0 = (frame 0, 0, 0), token 9 + 4 = (frame 1, 1, 1): offset (-1, -1, -1)
    assert index[0, 13] == 0 * span * span + 1 * span + 1


def test_shifted_window_mask_blocks_wrapped_regions():
    # 4×4 frame, 2×2 windows, rolled by one pixel: the last row and column of
    # the rolled frame hold pixels that wrapped around from the other edge.
    mask = window_attention_mask((4, 4), 2, shift=(1, 1))
    assert mask is not None and mask.dtype == torch.bool
    ones = torch.ones(4, 4, dtype=torch.bool)
    columns = torch.tensor(
        [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=torch.bool
    )
    rows = torch.tensor(
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=torch.bool
    )
    assert torch.equal(mask[0], ones)  # no wrapped pixel
    assert torch.equal(mask[1], columns)  # right column wrapped
    assert torch.equal(mask[2], rows)  # bottom row wrapped
    assert torch.equal(mask[3], torch.eye(4, dtype=torch.bool))  # four regions


def test_window_mask_hides_padding_from_real_queries():
    # 3×3 content padded to 4×4, no shift.
    mask = window_attention_mask((4, 4), 2, valid_size=(3, 3))
    assert mask is not None
    assert mask[0].all()
    padded_column = torch.tensor(
        [[1, 0, 1, 0], [1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 1]], dtype=torch.bool
    )
    assert torch.equal(mask[1], padded_column)
    corner = torch.ones(4, 4, dtype=torch.bool)
    corner[0] = torch.tensor([1, 0, 0, 0], dtype=torch.bool)
    assert torch.equal(mask[3], corner)
    # every query may attend to at least itself
    assert mask.diagonal(dim1=1, dim2=2).all()
    assert window_attention_mask((8, 8), 4) is None
    with pytest.raises(ValueError, match="shift"):
        window_attention_mask((8, 8), 4, shift=(4, 0))


# --- Attention ----------------------------------------------------------------


def _reference_attention(attn, windows, mask):
    """Explicit softmax attention over full N×N score matrices."""
    m, nw, n, c = windows.shape
    area = n // 2
    heads = attn.num_heads
    hd = c // heads
    frame = torch.arange(n) // area
    pos = torch.arange(n) % area
    spatial = mask if mask is not None else torch.ones(nw, area, area, dtype=bool)
    spatial = spatial[:, pos][:, :, pos]  # (nW, N, N)

    def heads_first(t):
        return t.view(m, nw, n, heads, hd).permute(0, 1, 3, 2, 4)

    def attend(q, k, v, bias, allowed):
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + bias
        scores = scores.masked_fill(~allowed[None, :, None], float("-inf"))
        out = scores.softmax(-1) @ v  # (M, nW, heads, N, d)
        return out.permute(0, 1, 3, 2, 4).reshape(m, nw, n, c)

    q, k, v = map(heads_first, attn.qkv_mutual(windows).chunk(3, -1))
    index = relative_position_index(1, attn.window_size)[pos][:, pos]
    bias = attn.mutual_bias_table[frame[:, None], index]  # (N, N, heads)
    cross = frame[:, None] != frame[None, :]
    mutual = attend(q, k, v, bias.permute(2, 0, 1), spatial & cross)

    q, k, v = map(heads_first, attn.qkv_self(windows).chunk(3, -1))
    bias = attn.self_bias_table[relative_position_index(2, attn.window_size)]
    self_out = attend(q, k, v, bias.permute(2, 0, 1), spatial)
    return attn.proj(torch.cat((mutual, self_out), -1))


@pytest.mark.parametrize("masked", [False, True])
def test_mutual_self_attention_matches_explicit_reference(masked):
    attn = TemporalMutualSelfAttention(dim=8, num_heads=2, window_size=2).double()
    with torch.no_grad():
        for table in (attn.self_bias_table, attn.mutual_bias_table):
            table.normal_()  # make the biases matter
    windows = torch.randn(3, 4, 8, 8, dtype=torch.float64)
    mask = window_attention_mask((4, 4), 2, shift=(1, 1)) if masked else None
    reference = _reference_attention(attn, windows, mask)
    torch.testing.assert_close(attn(windows, mask), reference)  # plain CPU path
    with torch.no_grad():  # scaled_dot_product_attention
        torch.testing.assert_close(attn(windows, mask), reference)


# --- Receptive field ------------------------------------------------------------


def _changed(a, b):
    return not torch.allclose(a, b, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shifted", [False, True])
def test_block_mixes_exactly_the_paired_frames(shifted):
    block = _randomise(TMSABlock(dim=8, num_heads=2, window_size=4, shifted=shifted))
    x = torch.randn(1, 5, 6, 7, 8)
    pairs = temporal_pairs(5, shifted)
    partner = {a: b for a, b in pairs} | {b: a for a, b in pairs}
    with torch.no_grad():
        base = block(x)
        for source in range(5):
            y = x.clone()
            y[:, source] = torch.randn_like(y[:, source])
            out = block(y)
            for frame in range(5):
                expected = frame in (source, partner[source])
                assert _changed(out[:, frame], base[:, frame]) == expected, (
                    source,
                    frame,
                )


def test_shifted_block_mask_stops_wrap_around(monkeypatch):
    x = torch.randn(1, 1, 8, 8, 8)
    y = x.clone()
    y[0, 0, 0, 0] = torch.randn(8)  # top-left pixel

    def changed_pixels(block):
        with torch.no_grad():
            diff = (block(y) - block(x)).abs().amax(-1)[0, 0]
        return diff > 1e-4

    unshifted = changed_pixels(_randomise(TMSABlock(8, 2, 4, shifted=False)))
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[:4, :4] = True  # its 4×4 window
    assert torch.equal(unshifted, expected)

    # Shifted by 2: the pixel shares a window with the opposite edges, but the
    # mask keeps it in its own 2×2 corner region.
    block = _randomise(TMSABlock(8, 2, 4, shifted=True))
    shifted = changed_pixels(block)
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[:2, :2] = True
    assert torch.equal(shifted, expected)

    # Without the mask the wrapped-around pixels would see it.
    monkeypatch.setattr(vrt, "_cached_window_mask", lambda *args: None)
    unmasked = changed_pixels(block)
    assert unmasked[7, 7] and unmasked[0, 7] and unmasked[7, 0]


def test_model_receptive_field_grows_with_blocks():
    clip = _clip(1, 5, 6, 6)

    def changed_frames(model, source):
        perturbed = clip.clone()
        perturbed[:, source] = torch.rand_like(perturbed[:, source])
        with torch.no_grad():
            diff = (model(perturbed) - model(clip)).abs().flatten(2).amax(-1)[0]
        return [bool(d > 1e-4) for d in diff]

    # One unshifted block: pairs (0, 1), (2, 3), (4, 4).
    one = _randomise(_small_model(depths=(1,)))
    assert changed_frames(one, 1) == [True, True, False, False, False]
    assert changed_frames(one, 2) == [False, False, True, True, False]
    # Then a shifted block, (0, 0), (1, 2), (3, 4): frame 2 reaches frame 1, not 0.
    two = _randomise(_small_model(depths=(1, 1)))
    assert changed_frames(two, 2) == [False, True, True, True, True]
    # A third, unshifted block carries it on to frame 0.
    three = _randomise(_small_model(depths=(2, 1)))
    assert changed_frames(three, 2) == [True, True, True, True, True]
    assert changed_frames(three, 4)[0] is False


def test_vrt_tiny_mixes_frames():
    model = _randomise(vrt_tiny())
    clip = _clip(1, 3, 16, 16)
    perturbed = clip.clone()
    perturbed[:, 1] = torch.rand_like(perturbed[:, 1])
    with torch.no_grad():
        assert _changed(model(perturbed)[:, 0], model(clip)[:, 0])


# --- Model ----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("t", [1, 2, 3, 5])
@pytest.mark.parametrize("size", [(5, 7), (15, 17), (1, 1)])
def test_output_shape(scale, t, size):
    h, w = size
    model = _small_model(scale=scale)
    out = model(_clip(2, t, h, w))
    assert out.shape == (2, t, 3, scale * h, scale * w)
    assert out.is_contiguous()
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("preset", [vrt_tiny, vrt_small])
@pytest.mark.parametrize("scale", [2, 4])
def test_presets(preset, scale):
    model = preset(scale=scale)
    assert model.scale == scale
    with torch.no_grad():
        out = model(_clip(1, 3, 15, 17))
    assert out.shape == (1, 3, 3, 15 * scale, 17 * scale)
    assert preset(dim=16, num_heads=4).dim == 16


def test_output_is_residual_over_bicubic_base():
    model = vrt_tiny(scale=2)
    with torch.no_grad():
        model.conv_last.weight.zero_()
        model.conv_last.bias.zero_()
        clip = _clip(1, 2, 5, 6)
        base = torch.nn.functional.interpolate(
            clip[0], scale_factor=2, mode="bicubic", align_corners=False
        )
        torch.testing.assert_close(model(clip)[0], base)


@pytest.mark.parametrize("parallel_warping", [False, True])
def test_gradients_reach_every_block(parallel_warping):
    model = _small_model(
        depths=(2, 2),
        parallel_warping=parallel_warping,
        spynet_levels=2,
        spynet_width=0.25,
    )
    clip = _clip(2, 3, 8, 8)
    model(clip).square().mean().backward()  # only the zero last layer moves
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.step()
    model.zero_grad()
    model(clip).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
    blocks = [block for stage in model.stages for block in stage.blocks]
    assert [block.shifted for block in blocks] == [False, True, False, True]
    if parallel_warping:
        assert model.spynet is not None


def test_parallel_warping_single_frame():
    model = _small_model(parallel_warping=True, spynet_levels=2, spynet_width=0.25)
    assert model(_clip(1, 1, 5, 5)).shape == (1, 1, 3, 20, 20)


def test_chunked_reconstruction_matches_single_call():
    model = _small_model().eval()
    clip = _clip(2, 3, 6, 6)
    with torch.no_grad():
        whole = model(clip)
        model.recon_chunk_pixels = 1  # one frame per call
        framewise = model(clip)
    torch.testing.assert_close(framewise, whole)


def test_cpu_autocast_bfloat16():
    model = _small_model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(_clip(1, 3, 6, 6))
    assert out.shape == (1, 3, 3, 24, 24)
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize(
    "shape", [(1, 3, 8, 8), (1, 2, 1, 8, 8), (1, 0, 3, 8, 8), (1, 2, 3, 0, 8)]
)
def test_bad_input_shape_raises(shape):
    model = _small_model()
    with pytest.raises(ValueError, match=r"expects \(B, T, 3, h, w\)"):
        model(torch.rand(shape))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": 3}, "scale"),
        ({"dim": 10, "num_heads": 4}, "num_heads"),
        ({"depths": ()}, "depths"),
        ({"depths": (2, 0)}, "depths"),
        ({"window_size": 0}, "window_size"),
        ({"mlp_ratio": 0.0}, "mlp_ratio"),
        ({"base_upsampling": "nearest"}, "base_upsampling"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _small_model(**kwargs)
