"""Tests for fedvideo.losses (3D DWT, Charbonnier, HiFr and the VSR objective)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
import torch

from fedvideo.tasks.vsr.losses import (
    SUBBANDS,
    _dwt3d_dense,
    _dwt3d_separable,
    charbonnier,
    dwt3d,
    hifr_loss,
    vsr_loss,
)

WAVELETS = ["haar", "db2", "sym4", "coif1"]
SHAPES = [(2, 3, 4, 8, 6), (1, 2, 6, 4, 10), (1, 1, 2, 2, 2)]


def _pywt_reference(x: torch.Tensor, wavelet: str) -> np.ndarray:
    coeffs = pywt.dwtn(x.numpy(), wavelet, mode="periodization", axes=(2, 3, 4))
    assert tuple(coeffs) == SUBBANDS  # pywt's key order is the documented order
    return np.stack([coeffs[k] for k in SUBBANDS], axis=2)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("wavelet", WAVELETS)
def test_dwt3d_matches_pywt(wavelet: str, shape: tuple[int, ...]) -> None:
    x = torch.randn(
        shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    ref = _pywt_reference(x, wavelet)
    out = dwt3d(x, wavelet)
    b, c, t, h, w = shape
    assert out.shape == (b, c, 8, t // 2, h // 2, w // 2)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    # Both internal implementations agree with pywt, whichever dwt3d picks.
    for impl in (_dwt3d_dense, _dwt3d_separable):
        np.testing.assert_allclose(
            impl(x, wavelet).numpy(), ref, rtol=1e-10, atol=1e-12
        )


def test_dwt3d_float32_and_noncontiguous() -> None:
    x64 = torch.randn(2, 3, 4, 6, 8, dtype=torch.float64)
    x = x64.float().transpose(3, 4).contiguous().transpose(3, 4)  # strided view
    assert not x.is_contiguous()
    out = dwt3d(x, "db2")
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), _pywt_reference(x64, "db2"), atol=1e-5)


@pytest.mark.parametrize("wavelet", ["haar", "db2"])
def test_dwt3d_gradcheck(wavelet: str) -> None:
    # fast_mode checks random vector-Jacobian products against finite
    # differences: a real gradient check at a fraction of the full Jacobian cost.
    x = torch.randn(1, 1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    for impl in (_dwt3d_dense, _dwt3d_separable):
        assert torch.autograd.gradcheck(
            lambda t, impl=impl: impl(t, wavelet), (x,), fast_mode=True
        )
    tiny = torch.randn(1, 1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dwt3d(t, wavelet), (tiny,))


@pytest.mark.parametrize("wavelet", ["haar", "sym4"])
def test_dwt3d_orthonormal_energy(wavelet: str) -> None:
    x = torch.randn(2, 3, 4, 8, 8, dtype=torch.float64)
    out = dwt3d(x, wavelet)
    assert math.isclose(
        out.square().sum().item(), x.square().sum().item(), rel_tol=1e-10
    )


@pytest.mark.parametrize(
    ("shape", "dim"),
    [((1, 1, 3, 4, 4), "T=3"), ((1, 1, 4, 5, 4), "H=5"), ((1, 1, 4, 4, 7), "W=7")],
)
def test_dwt3d_odd_size_error(shape: tuple[int, ...], dim: str) -> None:
    with pytest.raises(ValueError, match=dim):
        dwt3d(torch.zeros(shape))


def test_dwt3d_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="5-D"):
        dwt3d(torch.zeros(1, 4, 4, 4))
    with pytest.raises(TypeError):
        dwt3d(torch.zeros(1, 1, 2, 2, 2, dtype=torch.int64))


def test_charbonnier_hand_case() -> None:
    sr = torch.tensor([0.0, 3.0, -4.0], dtype=torch.float64)
    hr = torch.zeros(3, dtype=torch.float64)
    # sqrt(0 + 1) + sqrt(9 + 1) + sqrt(16 + 1), averaged
    expected = (1.0 + math.sqrt(10.0) + math.sqrt(17.0)) / 3
    assert charbonnier(sr, hr, eps=1.0).item() == pytest.approx(expected, rel=1e-12)
    assert charbonnier(sr, hr, eps=0.0).item() == pytest.approx(7.0 / 3, rel=1e-12)
    with pytest.raises(ValueError, match="shape"):
        charbonnier(sr, hr[:2])


def _clip(b: int = 2, t: int = 4, c: int = 3, h: int = 8, w: int = 8, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, c, h, w, generator=gen, dtype=torch.float64)


def test_hifr_identical_and_different() -> None:
    x = _clip()
    assert hifr_loss(x, x, eps=0.0).item() == 0.0
    assert hifr_loss(x, x).item() == pytest.approx(math.sqrt(1e-9), rel=1e-9)
    assert hifr_loss(x, _clip(seed=1)).item() > 1e-2


@pytest.mark.parametrize("wavelet", ["haar", "db2"])
def test_hifr_ignores_constant_offset(wavelet: str) -> None:
    # A constant only lives in the all-lowpass 'aaa' band, which HiFr leaves out,
    # so the seven compared bands are identical: loss = sqrt(eps).
    x = _clip()
    loss = hifr_loss(x + 0.25, x, wavelet=wavelet).item()
    assert loss == pytest.approx(math.sqrt(1e-9), rel=1e-6)
    assert charbonnier(x + 0.25, x).item() == pytest.approx(0.25)


def test_hifr_matches_manual_subbands() -> None:
    sr, hr = _clip(seed=2), _clip(seed=3)  # (B, T, C, H, W)
    bands_sr = dwt3d(sr.permute(0, 2, 1, 3, 4), "db2")[:, :, 1:]
    bands_hr = dwt3d(hr.permute(0, 2, 1, 3, 4), "db2")[:, :, 1:]
    expected = torch.sqrt((bands_sr - bands_hr).square() + 1e-9).mean()
    assert hifr_loss(sr, hr, "db2").item() == pytest.approx(expected.item(), rel=1e-12)


def test_hifr_odd_clip_drops_last_frame() -> None:
    sr, hr = _clip(t=5, seed=4), _clip(t=5, seed=5)
    expected = hifr_loss(sr[:, :4], hr[:, :4]).item()
    assert hifr_loss(sr, hr).item() == pytest.approx(expected, rel=1e-12)


def test_hifr_gradient_flows() -> None:
    sr = _clip(seed=6).requires_grad_()
    hifr_loss(sr, _clip(seed=7)).backward()
    assert sr.grad is not None and torch.isfinite(sr.grad).all()
    assert sr.grad.abs().sum() > 0


def test_vsr_loss_weights() -> None:
    sr, hr = _clip(seed=8), _clip(seed=9)
    total, parts = vsr_loss(sr, hr, hifr_weight=0.0)
    assert total.item() == pytest.approx(charbonnier(sr, hr).item(), rel=1e-12)
    assert parts == {"pixel": pytest.approx(total.item()), "hifr": 0.0}

    total, parts = vsr_loss(sr, hr, hifr_weight=0.5, wavelet="db2")
    assert isinstance(parts["pixel"], float) and isinstance(parts["hifr"], float)
    assert parts["hifr"] == pytest.approx(hifr_loss(sr, hr, "db2").item())
    assert total.item() == pytest.approx(parts["pixel"] + 0.5 * parts["hifr"])
    with pytest.raises(ValueError, match="hifr_weight"):
        vsr_loss(sr, hr, hifr_weight=-1.0)
