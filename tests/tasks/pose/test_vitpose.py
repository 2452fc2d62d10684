"""Tests for the ViTPose model with ResFormer-style positional embeddings."""

import math

import pytest
import torch
import torch.nn.functional as F

from fedvideo.tasks.pose.models.vitpose import (
    VITPOSE_SIZES,
    Attention,
    GlobalPositionalEmbedding,
    LocalPositionalEmbedding,
    ViTPose,
    ViTPoseSize,
    build_vitpose,
    layer_decay_param_groups,
    sincos_position_embedding,
)

MICRO = ViTPoseSize(embed_dim=32, depth=2, num_heads=2, head_channels=8)
POSITIONAL = ("conv", "absolute")


def micro_model(positional: str = "conv", **kwargs) -> ViTPose:
    torch.manual_seed(0)
    return ViTPose(MICRO, num_joints=5, positional=positional, **kwargs)


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("positional", POSITIONAL)
@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [((256), 192, (64, 48)), (128, 96, (32, 24)), (112, 80, (28, 20))],
)
def test_output_shape_known_sizes(positional, height, width, expected):
    model = micro_model(positional).eval()
    assert model.heatmap_size(height, width) == expected
    with torch.no_grad():
        out = model(torch.randn(2, 3, height, width))
    assert out.shape == (2, 5, *expected)


@pytest.mark.parametrize("positional", POSITIONAL)
@pytest.mark.parametrize(("height", "width"), [(96, 160), (64, 64), (12, 12), (75, 33)])
def test_output_shape_other_aspects(positional, height, width):
    model = micro_model(positional).eval()
    grid_h = (height + 4 - 16) // 16 + 1
    grid_w = (width + 4 - 16) // 16 + 1
    assert model.token_grid(height, width) == (grid_h, grid_w)
    assert model.heatmap_size(height, width) == (4 * grid_h, 4 * grid_w)
    with torch.no_grad():
        out = model(torch.randn(1, 3, height, width))
    assert out.shape == (1, 5, *model.heatmap_size(height, width))


def test_tiny_preset_forward_at_256x192():
    model = build_vitpose("vitpose-tiny").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 192))
    assert out.shape == (1, 16, 64, 48)


@pytest.mark.parametrize(
    "shape", [(3, 64, 48), (1, 1, 64, 48), (1, 4, 64, 48), (1, 3, 8, 64)]
)
def test_invalid_inputs_raise(shape):
    model = micro_model()
    with pytest.raises(ValueError, match="images|patch"):
        model(torch.randn(*shape))


# ---------------------------------------------------------------- GPE


def test_sincos_matches_mae_formula():
    table = sincos_position_embedding(8, (3, 7))
    assert table.shape == (21, 8)
    omega = torch.tensor([1.0, 1.0 / 100.0])  # 1 / 10000^(i / 2), i = 0, 1
    row, col = 2, 5
    expected = torch.cat(
        [
            torch.sin(col * omega),
            torch.cos(col * omega),
            torch.sin(row * omega),
            torch.cos(row * omega),
        ]
    )
    torch.testing.assert_close(table[row * 7 + col], expected)


@pytest.mark.parametrize("grid", [(3, 7), (9, 4), (16, 12), (1, 1)])
def test_sincos_positions_are_distinct(grid):
    table = sincos_position_embedding(32, grid)
    assert table.shape == (grid[0] * grid[1], 32)
    distances = torch.cdist(table, table)
    off_diagonal = distances[~torch.eye(len(table), dtype=torch.bool)]
    assert off_diagonal.numel() == 0 or off_diagonal.min() > 1e-3


def test_sincos_depends_on_grid_shape_not_only_count():
    assert not torch.allclose(
        sincos_position_embedding(16, (3, 4)), sincos_position_embedding(16, (4, 3))
    )


@pytest.mark.parametrize("grid", [(3, 7), (9, 4), (16, 12)])
def test_gpe_accepts_arbitrary_grids(grid):
    gpe = GlobalPositionalEmbedding(32)
    out = gpe(grid)
    assert out.shape == (1, grid[0] * grid[1], 32)
    maps = sincos_position_embedding(32, grid).T.reshape(1, 32, *grid)
    expected = F.conv2d(maps, gpe.conv.weight, gpe.conv.bias, padding=1, groups=32)
    torch.testing.assert_close(out, expected.flatten(2).transpose(1, 2))


def test_gpe_rejects_dim_not_divisible_by_four():
    with pytest.raises(ValueError, match="% 4"):
        GlobalPositionalEmbedding(30)


# ---------------------------------------------------------------- LPE / attention


def manual_attention(attn: Attention, tokens, grid, with_lpe: bool):
    batch, count, dim = tokens.shape
    heads, head_dim = attn.num_heads, attn.head_dim
    qkv = tokens @ attn.qkv.weight.T + attn.qkv.bias
    q, k, v = qkv.reshape(batch, count, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(head_dim), dim=-1)
    out = weights @ v
    if with_lpe:
        for h in range(heads):  # the same conv for every head
            maps = v[:, h].transpose(1, 2).reshape(batch, head_dim, *grid)
            conv = F.conv2d(
                maps,
                attn.lpe.conv.weight,
                attn.lpe.conv.bias,
                padding=1,
                groups=head_dim,
            )
            out[:, h] = out[:, h] + conv.flatten(2).transpose(1, 2)
    out = out.transpose(1, 2).reshape(batch, count, dim)
    return out @ attn.proj.weight.T + attn.proj.bias


def test_lpe_is_zero_initialised_and_shared_across_heads():
    attn = Attention(32, num_heads=4)
    assert attn.lpe.conv.weight.shape == (8, 1, 3, 3)
    assert attn.lpe.conv.bias.shape == (8,)
    assert torch.count_nonzero(attn.lpe.conv.weight) == 0
    assert torch.count_nonzero(attn.lpe.conv.bias) == 0
    values = torch.randn(2, 4, 12, 8)
    assert torch.count_nonzero(attn.lpe(values, (3, 4))) == 0


@pytest.mark.parametrize("grid", [(3, 7), (9, 4), (4, 3)])
def test_attention_at_init_equals_plain_attention(grid):
    torch.manual_seed(1)
    attn = Attention(32, num_heads=4)
    tokens = torch.randn(2, grid[0] * grid[1], 32)
    expected = manual_attention(attn, tokens, grid, with_lpe=False)
    torch.testing.assert_close(attn(tokens, grid), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("grid", [(3, 7), (9, 4)])
def test_nonzero_lpe_changes_output_as_specified(grid):
    torch.manual_seed(2)
    attn = Attention(32, num_heads=4)
    tokens = torch.randn(2, grid[0] * grid[1], 32)
    before = attn(tokens, grid)
    with torch.no_grad():
        attn.lpe.conv.weight.normal_()
        attn.lpe.conv.bias.normal_()
    after = attn(tokens, grid)
    assert not torch.allclose(before, after, atol=1e-3)
    expected = manual_attention(attn, tokens, grid, with_lpe=True)
    torch.testing.assert_close(after, expected, rtol=1e-4, atol=1e-5)


def test_nonzero_lpe_changes_model_output():
    model = micro_model().eval()
    images = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        before = model(images)
        model.blocks[0].attn.lpe.conv.weight.fill_(0.5)
        after = model(images)
    assert not torch.allclose(before, after)


def test_lpe_rejects_wrong_grid():
    with pytest.raises(ValueError, match="grid"):
        LocalPositionalEmbedding(8)(torch.randn(1, 2, 12, 8), (5, 5))


def test_absolute_variant_has_no_gpe_or_lpe():
    model = micro_model("absolute")
    assert model.gpe is None
    assert all(block.attn.lpe is None for block in model.blocks)
    assert model.pos_embed.shape == (1, 16 * 12, 32)
    conv_model = micro_model("conv")
    assert conv_model.pos_embed is None
    assert conv_model.gpe is not None


# ---------------------------------------------------------------- absolute


def test_absolute_pos_embed_unchanged_at_reference_grid():
    model = micro_model("absolute")
    assert model.position_embedding((16, 12)) is model.pos_embed


def test_absolute_pos_embed_interpolated_to_new_grid():
    model = micro_model("absolute")
    table = model.position_embedding((6, 9))
    assert table.shape == (1, 54, 32)
    maps = model.pos_embed.reshape(1, 16, 12, 32).permute(0, 3, 1, 2)
    expected = F.interpolate(maps, size=(6, 9), mode="bicubic", align_corners=False)
    torch.testing.assert_close(table, expected.flatten(2).transpose(1, 2))


def test_absolute_custom_reference_grid():
    model = micro_model("absolute", reference_grid=(4, 3))
    assert model.pos_embed.shape == (1, 12, 32)
    assert model.position_embedding((4, 3)) is model.pos_embed
    assert model(torch.randn(1, 3, 64, 48)).shape == (1, 5, 16, 12)


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("positional", POSITIONAL)
def test_gradients_reach_every_parameter(positional):
    model = micro_model(positional, drop_path=0.0).train()
    out = model(torch.randn(2, 3, 64, 48))
    target = torch.randn_like(out)
    F.mse_loss(out, target).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


def test_drop_path_grows_linearly():
    model = ViTPose(VITPOSE_SIZES["vitpose-tiny"], drop_path=0.3)
    rates = [block.drop_path.p for block in model.blocks]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_init_follows_spec():
    model = micro_model()
    head = model.head
    deconv = head.deconv_layers[0]
    assert deconv.bias is None
    assert deconv.weight.std().item() == pytest.approx(0.001, rel=0.2)
    assert torch.all(head.deconv_layers[1].weight == 1)
    assert torch.all(head.final_layer.bias == 0)
    assert torch.all(model.blocks[0].attn.qkv.bias == 0)
    qkv_std = model.blocks[0].attn.qkv.weight.std().item()
    assert qkv_std == pytest.approx(0.02, rel=0.2)
    assert torch.all(model.blocks[0].norm1.weight == 1)
    assert model.norm.eps == 1e-6


# ---------------------------------------------------------------- presets


def test_build_vitpose_presets_and_errors():
    model = build_vitpose("vitpose-tiny", positional="absolute", num_joints=7)
    assert model.size == VITPOSE_SIZES["vitpose-tiny"]
    assert model.head.final_layer.out_channels == 7
    with pytest.raises(ValueError, match="vitpose-tiny.*vitpose-small.*vitpose-s"):
        build_vitpose("vitpose-huge")
    with pytest.raises(ValueError, match="conv, absolute"):
        build_vitpose("vitpose-tiny", positional="rope")
    with pytest.raises(ValueError, match="conv, absolute"):
        ViTPose(MICRO, positional="learned")


def test_preset_sizes():
    assert VITPOSE_SIZES["vitpose-tiny"] == ViTPoseSize(128, 4, 4, head_channels=64)
    assert VITPOSE_SIZES["vitpose-small"] == ViTPoseSize(192, 6, 6, head_channels=128)
    assert VITPOSE_SIZES["vitpose-s"] == ViTPoseSize(384, 12, 12, head_channels=256)


def test_vit_s_backbone_parameter_count():
    model = build_vitpose("vitpose-s")
    backbone = sum(
        p.numel() for n, p in model.named_parameters() if not n.startswith("head.")
    )
    assert 21_000_000 < backbone < 22_000_000
    assert model.blocks[0].attn.lpe.conv.weight.shape == (32, 1, 3, 3)
    assert model.patch_embed.proj.padding == (2, 2)


# ---------------------------------------------------------------- layer decay


@pytest.mark.parametrize("positional", POSITIONAL)
def test_layer_decay_param_groups(positional):
    model = build_vitpose("vitpose-tiny", positional=positional)
    model.blocks[2].mlp.fc2.bias.requires_grad_(False)
    groups = layer_decay_param_groups(
        model, lr=1e-3, weight_decay=0.1, layer_decay=0.75
    )
    by_id = {}
    for group in groups:
        assert set(group) == {"params", "lr", "weight_decay", "lr_scale"}
        assert group["lr"] == pytest.approx(1e-3 * group["lr_scale"])
        for parameter in group["params"]:
            assert id(parameter) not in by_id
            by_id[id(parameter)] = group
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(by_id) == {id(p) for p in trainable.values()}

    def group_of(name):
        return by_id[id(trainable[name])]

    expected_scales = {
        "patch_embed.proj.weight": 0.75**5,
        "blocks.0.attn.qkv.weight": 0.75**4,
        "blocks.3.mlp.fc1.weight": 0.75**1,
        "norm.weight": 1.0,
        "head.final_layer.weight": 1.0,
        "head.deconv_layers.1.weight": 1.0,
    }
    expected_scales["gpe.conv.weight" if positional == "conv" else "pos_embed"] = (
        0.75**5
    )
    for name, scale in expected_scales.items():
        assert group_of(name)["lr_scale"] == pytest.approx(scale), name
    for name in ("blocks.1.attn.qkv.bias", "norm.bias", "blocks.0.norm1.weight"):
        assert group_of(name)["weight_decay"] == 0.0, name
    assert group_of("blocks.1.attn.qkv.weight")["weight_decay"] == 0.1
    assert group_of("head.deconv_layers.0.weight")["weight_decay"] == 0.1
    if positional == "absolute":
        assert group_of("pos_embed")["weight_decay"] == 0.0
    torch.optim.AdamW(groups)  # accepted as is
