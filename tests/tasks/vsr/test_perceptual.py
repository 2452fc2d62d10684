"""LPIPS: equal to the lpips package with the same weights; used in evaluation."""

import warnings

import pytest
import torch
from tiny_tasks import tiny_task

from fedvideo.config import ConfigError
from fedvideo.fl.client_info import ClientInfo
from fedvideo.tasks.vsr.evaluation import lpips_distance
from fedvideo.tasks.vsr.perceptual import LPIPS, load_lpips
from fedvideo.utils import save_weights

lpips = pytest.importorskip(
    "lpips", reason="the lpips package (dev extra) is the reference"
)


@pytest.fixture(scope="module")
def reference_and_file(tmp_path_factory):
    """lpips.LPIPS(net='alex'), random trunk (no download), and its weights file."""
    torch.manual_seed(0)
    with warnings.catch_warnings():  # torchvision's note on lpips' pretrained=False
        warnings.simplefilter("ignore", UserWarning)
        reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    path = tmp_path_factory.mktemp("lpips") / "lpips_alex.pth"
    torch.save(reference.state_dict(), path)
    return reference, path


def test_distances_equal_the_lpips_package(reference_and_file):
    reference, path = reference_and_file
    ours, report = load_lpips(path)
    assert report.complete and len(report.loaded) == 17
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(4, 3, 64, 80, generator=gen) * 2 - 1
    b = (a + 0.3 * torch.randn(a.shape, generator=gen)).clamp(-1, 1)
    with torch.no_grad():
        expected = reference(a, b).flatten()
    torch.testing.assert_close(ours(a, b), expected, rtol=1e-5, atol=1e-7)
    assert torch.equal(ours(a, a), torch.zeros(4))


def test_our_own_layout_loads_and_bad_files_are_named(reference_and_file, tmp_path):
    _, path = reference_and_file
    ours, _ = load_lpips(path)
    save_weights(ours.state_dict(), tmp_path / "ours.safetensors")
    again, _ = load_lpips(tmp_path / "ours.safetensors")
    assert all(
        torch.equal(again.state_dict()[k], v) for k, v in ours.state_dict().items()
    )
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not the weights of lpips.LPIPS"):
        load_lpips(tmp_path / "other.pth")
    shifted = dict(ours.state_dict())
    shifted["shift"] = torch.zeros(1, 3, 1, 1)
    torch.save(shifted, tmp_path / "shifted.pth")
    with pytest.raises(ValueError, match="shift differs"):
        load_lpips(tmp_path / "shifted.pth")
    with pytest.raises(FileNotFoundError):
        load_lpips(tmp_path / "missing.pth")


def test_clip_distance_uses_floats_and_the_crop(reference_and_file):
    _, path = reference_and_file
    ours, _ = load_lpips(path)
    gen = torch.Generator().manual_seed(2)
    hr = torch.rand(3, 3, 48, 48, generator=gen)
    noisy = (hr + 0.1 * torch.randn(hr.shape, generator=gen)).clamp(0, 1)
    assert lpips_distance(ours, hr, hr) == 0.0
    whole = lpips_distance(ours, noisy, hr)
    assert whole > 0
    expected = float(
        ours(noisy[..., 4:-4, 4:-4] * 2 - 1, hr[..., 4:-4, 4:-4] * 2 - 1).mean()
    )
    assert lpips_distance(ours, noisy, hr, crop_border=4) == pytest.approx(expected)


def test_the_server_reports_lpips_when_weights_are_set(reference_and_file, tmp_path):
    _, path = reference_and_file
    task, _, _ = tiny_task(**{"vsr.lpips-weights": str(path)})
    model = task.initial_model()
    scores = task.evaluate_global(model, torch.device("cpu"))
    assert {"lpips", "lpips_bicubic"} <= set(scores)
    # A fresh model is the bicubic upsampling, so both distances agree.
    assert scores["lpips"] == pytest.approx(scores["lpips_bicubic"], abs=1e-6)
    # Clients never load the LPIPS weights (the file may exist on the server only).
    client_scores = task.evaluate(model, ClientInfo(0, 2), torch.device("cpu")).metrics
    assert "lpips" not in client_scores
    plain, _, _ = tiny_task()
    assert "lpips" not in plain.evaluate_global(
        plain.initial_model(), torch.device("cpu")
    )
    missing, _, _ = tiny_task(**{"vsr.lpips-weights": str(tmp_path / "nope.pth")})
    with pytest.raises(ConfigError, match="'vsr.lpips-weights'.*nope.pth"):
        missing.initial_model()


def test_a_fresh_network_is_frozen_in_eval_mode():
    network = LPIPS()
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())
