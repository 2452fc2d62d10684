"""Loading pretrained ViT weights into ViTPose, with a report of every key."""

import pytest
import torch
import torch.nn.functional as F

from fedvideo.tasks.pose.models.vit_weights import (
    WeightLoadReport,
    load_backbone_weights,
)
from fedvideo.tasks.pose.models.vitpose import ViTPose, ViTPoseSize

MICRO = ViTPoseSize(embed_dim=32, depth=2, num_heads=2, head_channels=8)
POSITIONAL = ("conv", "absolute")


def micro_model(positional: str = "conv", **kwargs) -> ViTPose:
    torch.manual_seed(0)
    return ViTPose(MICRO, num_joints=5, positional=positional, **kwargs)


def plain_vit_keys(model: ViTPose) -> dict[str, torch.Size]:
    """Backbone keys a plain (MAE/timm) ViT has, with the model's shapes."""
    return {
        key: value.shape
        for key, value in model.state_dict().items()
        if not key.startswith(("head.", "gpe.")) and ".lpe." not in key
    }


def fake_mae_checkpoint(model: ViTPose, prefix: str = "") -> dict:
    torch.manual_seed(3)
    state = {
        prefix + key: torch.randn(shape) for key, shape in plain_vit_keys(model).items()
    }
    state[prefix + "blocks.1.mlp.fc1.weight"] = torch.randn(7, 32)
    state[prefix + "cls_token"] = torch.randn(1, 1, 32)
    state[prefix + "mask_token"] = torch.randn(1, 1, 32)
    state[prefix + "pos_embed"] = torch.randn(1, 1 + 4 * 4, 32)
    state[prefix + "decoder_embed.weight"] = torch.randn(16, 32)
    state[prefix + "decoder_pred.bias"] = torch.randn(16)
    return {"model": state, "epoch": 10}


MAE_UNEXPECTED = {
    "cls_token",
    "mask_token",
    "decoder_embed.weight",
    "decoder_pred.bias",
}
MISMATCH = "blocks.1.mlp.fc1.weight: file (7, 32) vs model (128, 32)"


def test_load_mae_checkpoint_into_conv_model(tmp_path):
    model = micro_model("conv")
    checkpoint = fake_mae_checkpoint(model)
    path = tmp_path / "mae.pth"
    torch.save(checkpoint, path)
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    gpe_before = model.gpe.conv.weight.detach().clone()

    report = load_backbone_weights(model, path)

    state = checkpoint["model"]
    expected_loaded = set(plain_vit_keys(model)) - {"blocks.1.mlp.fc1.weight"}
    assert set(report.loaded) == expected_loaded
    assert set(report.unexpected) == MAE_UNEXPECTED | {"pos_embed"}
    assert report.mismatched == [MISMATCH]
    assert all(k.startswith(("head.", "gpe.")) or ".lpe." in k for k in report.missing)
    assert set(report.loaded) | set(report.missing) | {"blocks.1.mlp.fc1.weight"} == (
        set(model.state_dict())
    )
    model_state = model.state_dict()
    for key in report.loaded:
        torch.testing.assert_close(model_state[key], state[key], rtol=0, atol=0)
    for key, value in model.head.state_dict().items():
        torch.testing.assert_close(value, head_before[key], rtol=0, atol=0)
    torch.testing.assert_close(model.gpe.conv.weight, gpe_before, rtol=0, atol=0)
    summary = report.summary()
    assert f"loaded {len(report.loaded)}" in summary
    assert "mismatched (1)" in summary and "cls_token" in summary


def test_load_mae_checkpoint_into_absolute_model(tmp_path):
    model = micro_model("absolute")
    checkpoint = fake_mae_checkpoint(model, prefix="module.encoder.")
    path = tmp_path / "mae.pt"
    torch.save(checkpoint, path)

    report = load_backbone_weights(model, path)

    assert "pos_embed" in report.loaded
    assert set(report.unexpected) == MAE_UNEXPECTED
    assert report.mismatched == [MISMATCH]
    file_table = checkpoint["model"]["module.encoder.pos_embed"][:, 1:]
    maps = file_table.reshape(1, 4, 4, 32).permute(0, 3, 1, 2)
    expected = F.interpolate(maps, size=(16, 12), mode="bicubic", align_corners=False)
    torch.testing.assert_close(
        model.pos_embed.detach(), expected.flatten(2).transpose(1, 2)
    )
    torch.testing.assert_close(
        model.blocks[0].attn.qkv.weight.detach(),
        checkpoint["model"]["module.encoder.blocks.0.attn.qkv.weight"],
    )


def test_load_pos_embed_at_reference_grid_with_cls(tmp_path):
    model = micro_model("absolute", reference_grid=(4, 3))
    table = torch.randn(1, 1 + 12, 32)
    torch.save({"state_dict": {"backbone.pos_embed": table}}, tmp_path / "p.pth")
    report = load_backbone_weights(model, tmp_path / "p.pth")
    assert report.loaded == ["pos_embed"]
    torch.testing.assert_close(model.pos_embed.detach(), table[:, 1:])


def test_load_safetensors(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = micro_model("conv")
    state = {"norm.weight": torch.randn(32), "decoder_norm.bias": torch.randn(32)}
    path = tmp_path / "w.safetensors"
    safetensors_torch.save_file(state, str(path))
    report = load_backbone_weights(model, path)
    assert report.loaded == ["norm.weight"]
    assert report.unexpected == ["decoder_norm.bias"]
    torch.testing.assert_close(model.norm.weight.detach(), state["norm.weight"])


def test_head_keys_in_file_are_not_loaded(tmp_path):
    source = micro_model("conv")
    with torch.no_grad():
        source.head.final_layer.weight.fill_(3.0)
    torch.save(source.state_dict(), tmp_path / "full.pth")
    model = micro_model("conv")
    report = load_backbone_weights(model, tmp_path / "full.pth", strict_backbone=True)
    assert "head.final_layer.weight" in report.unexpected
    assert "head.final_layer.weight" in report.missing
    assert not torch.all(model.head.final_layer.weight == 3.0)
    assert "gpe.conv.weight" in report.loaded


def test_strict_backbone_raises_for_mismatch_and_missing(tmp_path):
    model = micro_model("conv")
    path = tmp_path / "mae.pth"
    torch.save(fake_mae_checkpoint(model), path)
    before = model.blocks[0].attn.qkv.weight.detach().clone()
    with pytest.raises(ValueError, match="blocks.1.mlp.fc1.weight"):
        load_backbone_weights(model, path, strict_backbone=True)
    torch.testing.assert_close(model.blocks[0].attn.qkv.weight.detach(), before)

    state = {k: torch.randn(s) for k, s in plain_vit_keys(model).items()}
    del state["blocks.0.norm2.bias"]
    torch.save(state, path)
    with pytest.raises(ValueError, match="blocks.0.norm2.bias"):
        load_backbone_weights(model, path, strict_backbone=True)


def test_strict_backbone_accepts_plain_vit_for_conv_model(tmp_path):
    model = micro_model("conv")
    state = {k: torch.randn(s) for k, s in plain_vit_keys(model).items()}
    state["cls_token"] = torch.randn(1, 1, 32)
    torch.save(state, tmp_path / "vit.pth")
    report = load_backbone_weights(model, tmp_path / "vit.pth", strict_backbone=True)
    assert report.mismatched == []
    assert report.unexpected == ["cls_token"]


def test_missing_file_raises(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_backbone_weights(micro_model(), path)


def test_report_summary_truncates():
    report = WeightLoadReport(loaded=[f"k{i}" for i in range(9)], unexpected=["x"])
    text = report.summary()
    assert text.splitlines()[0] == "loaded 9, missing 0, unexpected 1, mismatched 0"
    assert "k4" in text and "k5" not in text and "+4" in text
