"""Tests of fedvideo.tasks.vsr.tiling: tile positions, blends, tiled inference."""

import pytest
import torch
from torch import Tensor, nn

from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.tasks.vsr.tiling import (
    BLEND_MODES,
    blend_ramp,
    blend_window,
    tile_starts,
    tiled_forward,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _clip(*shape: int, seed: int = 0) -> Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


class LocalSR(nn.Module):
    """Per-pixel, per-frame SR: a 1×1-conv network, then pixel shuffle."""

    def __init__(self, scale: int, channels: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.net = nn.Sequential(
            nn.Conv2d(channels, 8, 1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(8, channels * scale**2, 1),
            nn.PixelShuffle(scale),
        )

    def forward(self, lrs: Tensor) -> Tensor:
        b, t, c, h, w = lrs.shape
        out = self.net(lrs.reshape(b * t, c, h, w))
        return out.reshape(b, t, c, self.scale * h, self.scale * w)


class FiniteFieldSR(nn.Module):
    """SR with a known, finite receptive field (radii in RADIUS).

    Two 3×3 convs per frame (spatial radius 2 LR pixels), a temporal conv over
    3 frames (temporal radius 1), a 1×1 head and pixel shuffle; zero padding
    everywhere, as at a tile's cut edges.
    """

    #: Receptive-field radius (frames, LR rows, LR columns).
    RADIUS = (1, 2, 2)

    def __init__(self, scale: int, feat: int = 8) -> None:
        super().__init__()
        self.scale = scale
        self.feat = feat
        self.spatial = nn.Sequential(
            nn.Conv2d(3, feat, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(feat, feat, 3, padding=1),
            nn.LeakyReLU(0.1),
        )
        self.temporal = nn.Conv3d(feat, feat, (3, 1, 1), padding=(1, 0, 0))
        self.head = nn.Sequential(
            nn.Conv2d(feat, 3 * scale**2, 1), nn.PixelShuffle(scale)
        )

    def forward(self, lrs: Tensor) -> Tensor:
        b, t, c, h, w = lrs.shape
        x = self.spatial(lrs.reshape(b * t, c, h, w))
        x = x.reshape(b, t, self.feat, h, w).transpose(1, 2)
        x = torch.relu(self.temporal(x)).transpose(1, 2).reshape(b * t, -1, h, w)
        return self.head(x).reshape(b, t, 3, self.scale * h, self.scale * w)


class Recorder(nn.Module):
    """Wraps a model and records the shape of every input it is called with."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, lrs: Tensor) -> Tensor:
        self.shapes.append(tuple(lrs.shape))
        return self.model(lrs)


def _model(cls: type[nn.Module], scale: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return cls(scale).eval()


def _untiled(model: nn.Module, lrs: Tensor) -> Tensor:
    with torch.no_grad():
        return model(lrs)


# --- tile_starts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "expected"),
    [
        (10, 4, 2, [0, 2, 4, 6]),
        (11, 4, 2, [0, 2, 4, 6, 7]),
        (10, 4, 0, [0, 4, 6]),
        (12, 4, 0, [0, 4, 8]),
        (10, 4, 3, [0, 1, 2, 3, 4, 5, 6]),
        (9, 5, 1, [0, 4]),
        (7, 7, 2, [0]),
        (3, 4, 2, [0]),
        (1, 1, 0, [0]),
        (5, 1, 0, [0, 1, 2, 3, 4]),
    ],
)
def test_tile_starts_hand_computed(length, tile, overlap, expected):
    starts = tile_starts(length, tile, overlap)
    assert starts == expected
    # Covers the axis, last tile ends at the border, overlaps >= overlap.
    assert starts[0] == 0
    assert min(starts[-1] + tile, length) == length
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0, 4, 2), "length"),
        ((10, 0, 0), "tile"),
        ((10, 4, -1), "overlap"),
        ((10, 4, 4), "overlap"),
        ((10, 4.0, 1), "tile"),
    ],
)
def test_tile_starts_rejects_bad_arguments(args, name):
    with pytest.raises(ValueError, match=name):
        tile_starts(*args)


# --- blend weights ----------------------------------------------------------


def test_blend_ramp_values_and_partition_of_unity():
    torch.testing.assert_close(
        blend_ramp(3, "linear"), torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
    )
    torch.testing.assert_close(
        blend_ramp(1, "cosine"), torch.tensor([0.5], dtype=torch.float64)
    )
    assert torch.equal(blend_ramp(4, "average"), torch.ones(4, dtype=torch.float64))
    assert blend_ramp(0).numel() == 0
    for mode in ("linear", "cosine"):
        for n in (1, 2, 5, 16):
            ramp = blend_ramp(n, mode)
            assert (ramp > 0).all() and (ramp < 1).all()
            assert (ramp.diff() > 0).all()
            # A ramp and its mirror image cross-fade to exactly 1.
            torch.testing.assert_close(
                ramp + ramp.flip(0), torch.ones(n, dtype=torch.float64)
            )
    with pytest.raises(ValueError, match="blend"):
        blend_ramp(3, "gaussian")
    with pytest.raises(ValueError, match="length"):
        blend_ramp(-1)


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_blend_window_positive_symmetric_one_inside(mode):
    window = blend_window(12, 4, 4, mode)
    assert (window > 0).all()
    assert torch.equal(window, window.flip(0))
    assert torch.equal(window[4:8], torch.ones(4, dtype=torch.float64))
    assert window.max() == 1
    # No neighbour on a side: 1 up to that edge.
    assert torch.equal(blend_window(6, 0, 0, mode), torch.ones(6, dtype=torch.float64))
    assert torch.equal(blend_window(6, 0, 3, mode)[:3], torch.ones(3).double())


def test_blend_window_hand_computed():
    expected = [0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25]
    torch.testing.assert_close(
        blend_window(8, 3, 3), torch.tensor(expected, dtype=torch.float64)
    )
    # Ramps longer than half the tile: the smaller weight holds.
    expected = [0.25, 0.5, 0.5, 0.25]
    torch.testing.assert_close(
        blend_window(4, 3, 3), torch.tensor(expected, dtype=torch.float64)
    )
    # Margins are discarded (0), then the ramp over overlap - 2·margin.
    expected = [0, 0, 1 / 3, 2 / 3, 1, 1, 1, 1, 0, 0]
    torch.testing.assert_close(
        blend_window(10, 6, 4, margin=2), torch.tensor(expected, dtype=torch.float64)
    )


def test_blend_window_rejects_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        blend_window(0)
    with pytest.raises(ValueError, match="overlap_before"):
        blend_window(4, 5, 0)
    with pytest.raises(ValueError, match="overlap_after"):
        blend_window(4, 0, -1)
    with pytest.raises(ValueError, match="margin"):
        blend_window(8, 3, 3, margin=2)
    with pytest.raises(ValueError, match="blend"):
        blend_window(8, 3, 3, mode="nope")


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize(
    ("tile", "overlap", "margin"),
    [((4, 5, 6), (2, 2, 3), (0, 0, 0)), ((3, 4, 4), (2, 3, 3), (1, 1, 1))],
)
def test_blended_tiles_reproduce_a_constant(mode, tile, overlap, margin):
    # Every tile outputs the same constant: the normalised blend is that constant.
    class Constant(nn.Module):
        def forward(self, lrs: Tensor) -> Tensor:
            b, t, c, h, w = lrs.shape
            return torch.full((b, t, c, 2 * h, 2 * w), 0.7, dtype=lrs.dtype)

    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
        lrs = torch.zeros(1, 9, 3, 11, 13, dtype=dtype)
        out = tiled_forward(Constant(), lrs, 2, tile, overlap, mode, margin)
        assert out.dtype == dtype and out.shape == (1, 9, 3, 22, 26)
        assert (out - 0.7).abs().max() <= tol


# --- tiled_forward: exactness -----------------------------------------------


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize(
    ("tile", "overlap"),
    [
        ((4, 6, 5), (2, 2, 1)),  # divides h = 12, not w = 15
        ((3, 5, 4), (1, 2, 3)),  # divides nothing
        ((2, 4, 5), (0, 0, 0)),  # no overlap
        ((10, 5, 20), (3, 2, 4)),  # tile longer than T and w: those axes uncut
    ],
)
def test_local_model_tiled_equals_untiled(mode, tile, overlap):
    model = _model(LocalSR, 3)
    lrs = _clip(2, 7, 3, 12, 15)
    out = tiled_forward(model, lrs, 3, tile, overlap, mode)
    ref = _untiled(model, lrs)
    assert out.shape == ref.shape == (2, 7, 3, 36, 45)
    assert (out - ref).abs().max() <= 1e-6


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize(
    ("tile", "overlap", "margin"),
    [
        ((4, 7, 8), (2, 4, 4), (1, 2, 2)),  # the minimum: overlap = 2·radius
        ((5, 9, 6), (3, 5, 5), (1, 2, 2)),  # extra overlap is blended
        ((9, 6, 20), (2, 4, 4), (1, 2, 2)),  # T and w uncut
    ],
)
def test_finite_receptive_field_tiled_equals_untiled(mode, tile, overlap, margin):
    # margin >= receptive-field radius and overlap >= 2·margin: every kept output
    # of a tile is exact, so the blend is exact everywhere.
    assert all(m >= r for m, r in zip(margin, FiniteFieldSR.RADIUS, strict=True))
    model = _model(FiniteFieldSR, 2)
    lrs = _clip(1, 9, 3, 13, 17)
    out = tiled_forward(model, lrs, 2, tile, overlap, mode, margin)
    ref = _untiled(model, lrs)
    assert out.shape == ref.shape == (1, 9, 3, 26, 34)
    assert (out - ref).abs().max() <= 1e-6


def test_finite_receptive_field_needs_the_margin():
    # Without a margin the zero padding at cut edges leaks into the blend.
    model = _model(FiniteFieldSR, 2)
    lrs = _clip(1, 9, 3, 13, 17)
    out = tiled_forward(model, lrs, 2, (4, 7, 8), (2, 4, 4))
    assert (out - _untiled(model, lrs)).abs().max() > 1e-3


def test_basicvsr_tiny_tiled_is_close_to_untiled(capsys):
    # BasicVSR propagates over the whole clip and SpyNet sees the whole frame:
    # tiling is an approximation; check it stays close.
    model = build_vsr_model("basicvsr-tiny", scale=4).eval()
    lrs = _clip(1, 8, 3, 24, 24)
    ref = _untiled(model, lrs)
    for mode in ("linear", "cosine"):
        out = tiled_forward(model, lrs, 4, (5, 16, 16), (2, 8, 8), mode)
        assert out.shape == ref.shape == (1, 8, 3, 96, 96)
        assert torch.isfinite(out).all()
        diff = (out - ref).abs()
        with capsys.disabled():
            print(
                f"\nbasicvsr-tiny tiled ({mode}) vs untiled: max abs diff "
                f"{diff.max().item():.3g}, mean abs diff {diff.mean().item():.3g}"
            )
        assert diff.mean() < 1e-2


# --- tiled_forward: memory bound, whole tile, devices, validation -----------


def test_no_model_call_exceeds_the_tile():
    model = Recorder(_model(LocalSR, 2))
    lrs = _clip(1, 11, 3, 14, 9)
    tile, overlap = (4, 6, 5), (2, 3, 2)
    tiled_forward(model, lrs, 2, tile, overlap)
    t_tiles, h_tiles, w_tiles = (
        len(tile_starts(n, t, o))
        for n, t, o in zip((11, 14, 9), tile, overlap, strict=True)
    )
    assert len(model.shapes) == t_tiles * h_tiles * w_tiles
    for shape in model.shapes:
        assert shape[0] == 1 and shape[2] == 3
        assert shape[1] <= 4 and shape[3] <= 6 and shape[4] <= 5
    # The full-size tiles appear, and never anything larger.
    assert max(s[1] for s in model.shapes) == 4
    assert max(s[3] * s[4] for s in model.shapes) == 30


@pytest.mark.parametrize("tile", [(8, 24, 24), (100, 100, 100)])
def test_whole_clip_tile_is_exactly_the_model(tile):
    lrs = _clip(1, 8, 3, 24, 24)
    for model in (_model(LocalSR, 4), build_vsr_model("basicvsr-tiny", 4).eval()):
        recorder = Recorder(model)
        out = tiled_forward(recorder, lrs, 4, tile, (2, 8, 8), "average")
        assert recorder.shapes == [tuple(lrs.shape)]
        assert torch.equal(out, _untiled(model, lrs))


def test_output_dtype_device_and_gradients():
    class HalfOut(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = _model(LocalSR, 2)

        def forward(self, lrs: Tensor) -> Tensor:
            return self.inner(lrs).to(torch.bfloat16)

    model = HalfOut()
    lrs = _clip(1, 5, 3, 8, 8)
    out = tiled_forward(model, lrs, 2, (3, 5, 5), (1, 2, 2), device="cpu")
    assert out.dtype == torch.float32 and out.device == torch.device("cpu")
    assert not out.requires_grad
    ref = _untiled(model, lrs).float()
    assert (out - ref).abs().max() <= 1e-2  # bfloat16 rounding of the tiles


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"tile": (0, 4, 4)}, "tile"),
        ({"tile": (4, 4)}, "tile"),
        ({"tile": 4}, "tile"),
        ({"overlap": (1, -1, 1)}, "overlap"),
        ({"overlap": (4, 1, 1)}, "overlap"),
        ({"overlap": (1, 1, 4)}, "overlap"),
        ({"margin": (1, 0, 0)}, "margin"),
        ({"blend": "median"}, "blend"),
        ({"scale": 0}, "scale"),
        ({"scale": 3}, "scale"),  # the model's output does not fit scale 3
        ({"lrs": torch.zeros(3, 8, 8)}, "lrs"),
    ],
)
def test_tiled_forward_rejects_bad_arguments(kwargs, name):
    args = {
        "model": _model(LocalSR, 2),
        "lrs": _clip(1, 6, 3, 8, 8),
        "scale": 2,
        "tile": (4, 4, 4),
        "overlap": (1, 1, 1),
    } | kwargs
    with pytest.raises(ValueError, match=name):
        tiled_forward(**args)
