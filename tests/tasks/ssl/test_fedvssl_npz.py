"""FedVSSL's .npz checkpoints: read safely, mapped onto torchvision r3d_18 keys."""

import pickle

import numpy as np
import pytest
import torch
from flwr.common import ndarrays_to_parameters
from torchvision.models.video import r3d_18

from fedvideo.cli import main
from fedvideo.tasks.ssl.fedvssl_npz import convert_fedvssl_npz, read_flower_npz
from fedvideo.tasks.ssl.models.r3d import R3DBackbone, load_r3d18_backbone
from fedvideo.utils import load_weights


def _ctp_state():
    """A trained-looking CtP model state in module order: backbone, then head."""
    torch.manual_seed(0)
    backbone = {
        k: (v + torch.rand_like(v.float()).to(v.dtype))
        if v.is_floating_point()
        else v + 7
        for k, v in R3DBackbone(pretrain_stride=False).state_dict().items()
    }
    head = [torch.randn(512, 512, 2, 1, 1), torch.randn(512), torch.randn(64, 512)]
    return backbone, head


def _fedvssl_npz(path, arrays):
    """Save as FedVSSL's server does: np.savez of Flower Parameters."""
    np.savez(path, ndarrays_to_parameters(arrays))
    return path


def test_npz_converts_to_torchvision_r3d18(tmp_path):
    backbone, head = _ctp_state()
    arrays = [v.numpy() for v in backbone.values()] + [t.numpy() for t in head]
    npz = _fedvssl_npz(tmp_path / "round-540.npz", arrays)
    assert len(read_flower_npz(npz)) == len(backbone) + 3
    converted, unused = convert_fedvssl_npz(npz)
    assert unused == 3 and list(converted) == list(backbone)
    for key, value in backbone.items():
        assert (
            torch.equal(converted[key], value) and converted[key].dtype == value.dtype
        )
    network = r3d_18()
    missing = network.load_state_dict(converted, strict=False).missing_keys
    assert sorted(missing) == ["fc.bias", "fc.weight"]
    load_r3d18_backbone(r3d_18(), converted)  # the ssl task's own loader


def test_cli_writes_a_backbone_file(tmp_path, capsys):
    backbone, head = _ctp_state()
    arrays = [v.numpy() for v in backbone.values()] + [t.numpy() for t in head]
    npz = _fedvssl_npz(tmp_path / "round-540.npz", arrays)
    out = tmp_path / "fedvssl.safetensors"
    assert main(["convert-fedvssl", str(npz), str(out)]) == 0
    assert "3 arrays after them" in capsys.readouterr().out
    loaded = load_weights(out)
    assert all(torch.equal(loaded[k], backbone[k]) for k in backbone)
    assert main(["convert-fedvssl", str(npz), str(tmp_path / "out.bin")]) == 2


def test_wrong_content_is_refused_with_the_reason(tmp_path):
    backbone, _ = _ctp_state()
    arrays = [v.numpy() for v in backbone.values()]
    short = _fedvssl_npz(tmp_path / "short.npz", arrays[:10])
    with pytest.raises(ValueError, match="10 arrays, but an R3D-18 backbone has"):
        convert_fedvssl_npz(short)
    swapped = _fedvssl_npz(
        tmp_path / "swapped.npz", [arrays[1], arrays[0], *arrays[2:]]
    )
    with pytest.raises(ValueError, match="array 0 has shape .* stem.0.weight"):
        convert_fedvssl_npz(swapped)
    np.savez(tmp_path / "plain.npz", np.zeros(3))
    with pytest.raises(ValueError, match="not a Flower Parameters"):
        read_flower_npz(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not an .npz archive"):
        read_flower_npz(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError):
        read_flower_npz(tmp_path / "missing.npz")


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, capsys):
    holder = np.empty((), dtype=object)
    holder[()] = _Payload()
    np.savez(tmp_path / "evil.npz", holder)
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        read_flower_npz(tmp_path / "evil.npz")
    assert "pwned" not in capsys.readouterr().out
    assert pickle.loads(pickle.dumps(1)) == 1  # the standard unpickler is untouched
