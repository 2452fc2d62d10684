"""Tests for fedvideo.metrics against hand computations and scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from fedvideo.tasks.vsr.metrics import psnr, rgb_to_y, ssim


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _noisy(x: torch.Tensor, scale: float, seed: int = 1) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return (x + scale * noise).clamp(0, 1)


def _to_8bit_hwc(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) float64 array of 8-bit levels."""
    return (
        np.round(np.clip(x.numpy(), 0, 1) * 255.0).astype(np.float64).transpose(1, 2, 0)
    )


def _y_numpy(img: np.ndarray) -> np.ndarray:
    """BT.601 Y on the 0..255 scale of an (H, W, 3) 0..255 RGB array."""
    return 16.0 + img @ np.array([65.481, 128.553, 24.966]) / 255.0


# ----------------------------------------------------------------------- rgb_to_y


def test_rgb_to_y_known_colours() -> None:
    colours = torch.tensor(
        [
            [1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    img = colours.T.reshape(3, 1, 5)  # five 1-pixel colours along W
    y = rgb_to_y(img)
    assert y.shape == (1, 1, 5)
    expected = [235.0, 16.0, 16.0 + 65.481, 16.0 + 128.553, 16.0 + 24.966]
    np.testing.assert_allclose(y.flatten().numpy(), expected, rtol=0, atol=1e-9)


def test_rgb_to_y_batched_and_bad_shape() -> None:
    x = _rand(4, 3, 5, 6)
    y = rgb_to_y(x)
    assert y.shape == (4, 1, 5, 6)
    np.testing.assert_allclose(y[2, 0].numpy(), rgb_to_y(x[2])[0].numpy())
    with pytest.raises(ValueError, match="3"):
        rgb_to_y(torch.zeros(4, 5, 6))


# --------------------------------------------------------------------------- psnr


def test_psnr_constant_offset_hand_value() -> None:
    target = torch.zeros(3, 4, 4)
    pred = torch.full((3, 4, 4), 10 / 255)  # rounds to level 10: MSE = 100
    expected = 10 * math.log10(255**2 / 100)  # = 28.1308036086791 dB
    assert expected == pytest.approx(28.1308036086791, abs=1e-12)
    assert psnr(pred, target) == pytest.approx(expected, abs=1e-10)


def test_psnr_matches_numpy() -> None:
    target = _rand(3, 12, 10, seed=2)
    pred = _noisy(target, 0.05, seed=3)
    a, b = _to_8bit_hwc(pred), _to_8bit_hwc(target)
    expected = 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))
    assert psnr(pred, target) == pytest.approx(expected, abs=1e-10)
    ya, yb = _y_numpy(a), _y_numpy(b)
    expected_y = 10 * np.log10(255.0**2 / np.mean((ya - yb) ** 2))
    assert psnr(pred, target, y_channel=True) == pytest.approx(expected_y, abs=1e-10)
    c = 2
    expected_c = 10 * np.log10(255.0**2 / np.mean((a[c:-c, c:-c] - b[c:-c, c:-c]) ** 2))
    assert psnr(pred, target, crop_border=c) == pytest.approx(expected_c, abs=1e-10)


def test_psnr_rounds_to_8bit_and_identical_is_inf() -> None:
    target = _rand(3, 6, 6, seed=4)
    levels = (target * 255).round() / 255
    assert psnr(levels + 0.2 / 255, levels) == math.inf  # same 8-bit levels
    assert psnr(target, target) == math.inf
    assert psnr(target.clamp(0, 1) + 2.0, torch.ones(3, 6, 6)) == math.inf  # clamped


def test_psnr_crop_border_removes_border_errors() -> None:
    target = _rand(3, 10, 10, seed=5)
    pred = target.clone()
    pred[:, 0, :] = 1 - pred[:, 0, :]
    pred[:, :, -2:] = 0.0
    assert psnr(pred, target) < 40
    assert psnr(pred, target, crop_border=2) == math.inf


def test_psnr_video_is_mean_of_frames() -> None:
    target = _rand(4, 3, 8, 8, seed=6)
    pred = torch.stack(
        [_noisy(f, 0.02 * (i + 1), seed=i) for i, f in enumerate(target)]
    )
    frames = [psnr(p, t) for p, t in zip(pred, target, strict=True)]
    assert len(set(frames)) == 4
    assert psnr(pred, target) == pytest.approx(sum(frames) / 4, abs=1e-12)
    # not the PSNR of the pooled MSE
    a = np.stack([_to_8bit_hwc(p) for p in pred])
    b = np.stack([_to_8bit_hwc(t) for t in target])
    pooled = 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))
    assert psnr(pred, target) != pytest.approx(pooled, abs=1e-6)


def test_psnr_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"\(3, 8, 8\).*\(3, 8, 9\)"):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="crop_border"):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), crop_border=4)


# --------------------------------------------------------------------------- ssim


def _skimage_ssim(a: np.ndarray, b: np.ndarray, channel_axis: int | None) -> tuple:
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=channel_axis,
        full=True,
    )


@pytest.mark.parametrize("crop_border", [0, 3])
def test_ssim_matches_skimage_rgb(crop_border: int) -> None:
    target = _rand(3, 32, 40, seed=7)
    pred = _noisy(target, 0.1, seed=8)
    a, b = _to_8bit_hwc(pred), _to_8bit_hwc(target)
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    mean, full = _skimage_ssim(a, b, channel_axis=2)
    # skimage filters with reflect padding but averages only the interior that is
    # (win_size - 1) // 2 = 5 pixels away from the border: our 'valid' region.
    valid = full[5:-5, 5:-5].mean()
    ours = ssim(pred, target, crop_border=crop_border)
    assert ours == pytest.approx(valid, abs=1e-6)
    assert ours == pytest.approx(mean, abs=1e-6)
    assert 0.3 < ours < 0.99


def test_ssim_matches_skimage_y_channel() -> None:
    target = _rand(3, 24, 20, seed=9)
    pred = _noisy(target, 0.05, seed=10)
    ya, yb = _y_numpy(_to_8bit_hwc(pred)), _y_numpy(_to_8bit_hwc(target))
    _, full = _skimage_ssim(ya, yb, channel_axis=None)
    assert ssim(pred, target, y_channel=True) == pytest.approx(
        full[5:-5, 5:-5].mean(), abs=1e-6
    )


def test_ssim_identical_video_mean_and_errors() -> None:
    target = _rand(3, 3, 16, 16, seed=11)
    assert ssim(target, target) == pytest.approx(1.0, abs=1e-12)
    pred = torch.stack(
        [_noisy(f, 0.05 * (i + 1), seed=i) for i, f in enumerate(target)]
    )
    frames = [ssim(p, t) for p, t in zip(pred, target, strict=True)]
    assert frames[0] > frames[1] > frames[2]
    assert ssim(pred, target) == pytest.approx(sum(frames) / 3, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        ssim(pred, target[:2])
    with pytest.raises(ValueError, match="window"):
        ssim(target, target, crop_border=3)  # 10x10 left < 11x11 window
