"""Tiled, overlapping inference over time and space for video super-resolution.

A VSR model maps a low-resolution clip (B, T, C, h, w) to (B, T, C', s·h, s·w).
On long or large videos one forward pass may not fit in memory.
:func:`tiled_forward` cuts the clip into overlapping 3-D tiles (frames × rows ×
columns, in LR space), runs the model on one tile at a time and blends the
tiles' outputs into a full-size result with per-tile weights that fade across
the overlaps, so seams are smooth and the peak memory is one tile on the compute
device plus the output buffer.

Tiled inference equals the untiled pass exactly only for models whose every
output depends on a bounded neighbourhood of the input (a receptive field of
``r`` frames / LR pixels), with ``margin >= r`` and ``overlap >= 2·margin``:
then each tile's output away from its cut edges is exact and the weights, which
are zero in the margins, only ever mix exact values. Recurrent models such as
BasicVSR (propagation over the whole clip, optical flow over the whole frame)
have no bounded receptive field; for them tiling is an approximation whose
error shrinks as the tiles and overlaps grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = [
    "BLEND_MODES",
    "blend_ramp",
    "blend_window",
    "tile_starts",
    "tiled_forward",
]

#: Blending modes of :func:`blend_ramp`, :func:`blend_window` and
#: :func:`tiled_forward`.
BLEND_MODES: tuple[str, ...] = ("linear", "cosine", "average")

_AXES = ("time", "height", "width")


def _check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_mode(mode: str) -> None:
    if mode not in BLEND_MODES:
        raise ValueError(
            f"blend must be one of {', '.join(map(repr, BLEND_MODES))}, got {mode!r}"
        )


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of overlapping tiles along one axis.

    Tiles of ``tile`` elements start every ``tile - overlap`` elements from 0;
    the last tile is moved back to end exactly at ``length``, so no padding is
    needed and consecutive tiles overlap by at least ``overlap`` (the last pair
    possibly by more). A tile at least as long as the axis gives one tile.

    Parameters
    ----------
    length : int
        Size of the axis, >= 1.
    tile : int
        Tile size, >= 1.
    overlap : int
        Overlap of consecutive tiles, 0 <= overlap < tile.

    Returns
    -------
    list of int
        Increasing start positions; the tiles are ``[s, min(s + tile, length))``.

    Raises
    ------
    ValueError
        For a non-positive ``length`` or ``tile``, or ``overlap`` outside
        ``[0, tile)``.

    Examples
    --------
    >>> tile_starts(10, 4, 2)
    [0, 2, 4, 6]
    >>> tile_starts(11, 4, 2)
    [0, 2, 4, 6, 7]
    >>> tile_starts(3, 4, 2)
    [0]
    """
    _check_int("length", length, 1)
    _check_int("tile", tile, 1)
    _check_int("overlap", overlap, 0)
    if overlap >= tile:
        raise ValueError(f"overlap must be < tile ({tile}), got {overlap}")
    if tile >= length:
        return [0]
    return [*range(0, length - tile, tile - overlap), length - tile]


def blend_ramp(length: int, mode: str = "linear") -> Tensor:
    """Rising 1-D blending ramp of ``length`` strictly positive weights below 1.

    With ``u_k = (k + 1) / (length + 1)`` for ``k = 0 .. length-1``, the weights
    are ``u_k`` (``"linear"``), ``sin²(π/2 · u_k)`` (``"cosine"``, a raised
    cosine) or 1 (``"average"``). A ramp and its reverse sum to exactly 1 at
    every position (up to rounding) for ``"linear"`` and ``"cosine"``, so two
    tiles that overlap by ``length`` cross-fade with weights summing to 1.

    Parameters
    ----------
    length : int
        Number of weights, >= 0.
    mode : str, optional
        One of :data:`BLEND_MODES`.

    Returns
    -------
    Tensor
        Float64 weights, shape (length,), in (0, 1) (all 1 for ``"average"``).

    Raises
    ------
    ValueError
        For a negative ``length`` or an unknown ``mode``.
    """
    _check_int("length", length, 0)
    _check_mode(mode)
    if mode == "average":
        return torch.ones(length, dtype=torch.float64)
    u = torch.arange(1, length + 1, dtype=torch.float64) / (length + 1)
    if mode == "cosine":
        return torch.sin(0.5 * math.pi * u) ** 2
    return u


def blend_window(
    size: int,
    overlap_before: int = 0,
    overlap_after: int = 0,
    mode: str = "linear",
    margin: int = 0,
) -> Tensor:
    """1-D weight of one tile along one axis.

    On a side where the tile overlaps a neighbour by ``overlap`` elements, the
    first ``margin`` elements from the tile's edge get weight 0 (they are
    discarded), the next ``overlap - 2·margin`` follow :func:`blend_ramp`, and
    the rest is 1; a side with no neighbour (overlap 0, the video's border) is
    1 up to the edge. Where the two sides' ramps meet, the smaller weight
    holds. With ``margin = 0`` every weight is strictly positive; the window is
    symmetric when both overlaps are equal. The neighbour's window mirrors this
    one across the same overlap, so within the overlap the two weights sum to 1
    (``"linear"``, ``"cosine"``), and every element is kept (weight > 0) by at
    least one of them when ``overlap >= 2·margin``.

    Parameters
    ----------
    size : int
        Tile size along the axis, >= 1.
    overlap_before, overlap_after : int, optional
        Overlap with the previous and with the next tile (0: none), at most
        ``size``.
    mode : str, optional
        One of :data:`BLEND_MODES`.
    margin : int, optional
        Elements discarded at each overlapping side, ``2·margin`` at most the
        overlap there.

    Returns
    -------
    Tensor
        Float64 weights, shape (size,), in [0, 1].

    Raises
    ------
    ValueError
        For arguments out of range, naming the argument.
    """
    _check_int("size", size, 1)
    _check_int("margin", margin, 0)
    _check_mode(mode)
    window = torch.ones(size, dtype=torch.float64)
    for name, overlap in (
        ("overlap_before", overlap_before),
        ("overlap_after", overlap_after),
    ):
        _check_int(name, overlap, 0)
        if overlap > size:
            raise ValueError(f"{name} must be <= size ({size}), got {overlap}")
        if overlap and 2 * margin > overlap:
            raise ValueError(
                f"margin must be at most half of {name} ({overlap}), got {margin}"
            )
    if overlap_before:
        side = torch.cat(
            (
                torch.zeros(margin, dtype=torch.float64),
                blend_ramp(overlap_before - 2 * margin, mode),
            )
        )
        window[: side.numel()] = torch.minimum(window[: side.numel()], side)
    if overlap_after:
        side = torch.cat(
            (
                torch.zeros(margin, dtype=torch.float64),
                blend_ramp(overlap_after - 2 * margin, mode),
            )
        ).flip(0)
        start = size - side.numel()
        window[start:] = torch.minimum(window[start:], side)
    return window


def _triple(name: str, value: Sequence[int], minimum: int) -> tuple[int, int, int]:
    """Validate a (time, height, width) triple of ints >= ``minimum``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(
            f"{name} must be a (time, height, width) sequence of 3 integers, "
            f"got {value!r}"
        )
    if len(value) != 3:
        raise ValueError(
            f"{name} must have 3 entries (time, height, width), got {len(value)}"
        )
    for axis, v in zip(_AXES, value, strict=True):
        _check_int(f"{name} ({axis})", v, minimum)
    return (value[0], value[1], value[2])


def _axis_plan(
    length: int, tile: int, overlap: int, margin: int, factor: int, mode: str
) -> list[tuple[int, int, Tensor]]:
    """Tiles along one axis: (LR start, LR stop, normalised output-space weight).

    The weights of all tiles are divided by their sum at every output position,
    so they add up to 1 along the axis (their outer products over the three
    axes then add up to 1 at every output pixel).
    """
    starts = tile_starts(length, tile, overlap)
    stops = [min(s + tile, length) for s in starts]
    windows = []
    for i, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        before = stops[i - 1] - start if i > 0 else 0
        after = stop - starts[i + 1] if i + 1 < len(starts) else 0
        windows.append(
            blend_window(
                (stop - start) * factor,
                before * factor,
                after * factor,
                mode,
                margin * factor,
            )
        )
    total = torch.zeros(length * factor, dtype=torch.float64)
    for start, window in zip(starts, windows, strict=True):
        total[start * factor : start * factor + window.numel()] += window
    # Positive everywhere when 2·margin <= overlap (checked by the caller).
    return [
        (start, stop, window / total[start * factor : stop * factor])
        for start, stop, window in zip(starts, stops, windows, strict=True)
    ]


def tiled_forward(
    model: Callable[[Tensor], Tensor],
    lrs: Tensor,
    scale: int,
    tile: Sequence[int],
    overlap: Sequence[int],
    blend: str = "linear",
    margin: Sequence[int] = (0, 0, 0),
    device: torch.device | str | None = None,
    out_device: torch.device | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Tensor:
    """Run a VSR model on overlapping space-time tiles and blend their outputs.

    Each axis is cut with :func:`tile_starts` (a dimension no longer than its
    tile is not cut), every (time, height, width) combination of tiles is moved
    to ``device`` and super-resolved under :func:`torch.no_grad`, and its output
    is moved to ``out_device``, weighted by the outer product of the axes'
    :func:`blend_window` weights (in output space: time overlaps in frames,
    spatial overlaps and margins × ``scale``) and added into the output buffer.
    The result is normalised by the sum of the weights at every output pixel;
    the weights are separable over the tile grid, so that sum is the product of
    three 1-D sums and each axis's weights are normalised up front. Peak memory
    is one tile (input, activations, output) on ``device`` plus the output on
    ``out_device``.

    Parameters
    ----------
    model : callable
        Maps (B, t, C, h', w') to (B, t, C', scale·h', scale·w'), e.g. a
        :class:`~fedvideo.tasks.vsr.models.BasicVSR`. Put it on ``device`` and in eval
        mode first; whether it accepts the tile's spatial size is the caller's
        concern.
    lrs : Tensor
        Low-resolution clip, (B, T, C, h, w).
    scale : int
        The model's upsampling factor.
    tile : sequence of 3 int
        Tile size (frames, rows, columns) in LR space, each >= 1; larger than
        the clip along an axis means that axis is not cut.
    overlap : sequence of 3 int
        Overlap of neighbouring tiles along each axis, ``0 <= overlap < tile``.
    blend : str, optional
        ``"linear"`` or ``"cosine"``: weights ramp (linearly or by a raised
        cosine, see :func:`blend_ramp`) from near 0 at a cut edge to 1 across
        the overlap, and are 1 elsewhere; ``"average"``: uniform weights, a
        plain mean of the overlapping tiles.
    margin : sequence of 3 int, optional
        Frames / LR pixels at each cut tile edge whose output is discarded
        (weight 0) rather than blended, with ``2·margin <= overlap`` so every
        output is still covered. A margin at least the model's receptive field
        makes tiling exact for models with a bounded one. Default: none, every
        weight strictly positive.
    device : torch.device or str, optional
        Where the model runs; default ``lrs.device``.
    out_device : torch.device or str, optional
        Where the output is accumulated and returned; default ``lrs.device``.
    progress : callable, optional
        Called as ``progress(done, total)`` after every tile.

    Returns
    -------
    Tensor
        (B, T, C', scale·h, scale·w) on ``out_device``, in the model's output
        dtype when that is float32 or float64, else float32. When one tile
        covers the whole clip, exactly ``model(lrs.to(device))`` (moved to
        ``out_device``).

    Raises
    ------
    ValueError
        For arguments out of range (naming the argument), or a model output
        whose shape does not match ``scale``.
    """
    if lrs.dim() != 5:
        raise ValueError(f"lrs must have shape (B, T, C, h, w), got {tuple(lrs.shape)}")
    _check_int("scale", scale, 1)
    tile3 = _triple("tile", tile, 1)
    overlap3 = _triple("overlap", overlap, 0)
    margin3 = _triple("margin", margin, 0)
    _check_mode(blend)
    for axis, t, o, m in zip(_AXES, tile3, overlap3, margin3, strict=True):
        if o >= t:
            raise ValueError(f"overlap ({axis}) must be < tile ({t}), got {o}")
        if 2 * m > o:
            raise ValueError(
                f"margin ({axis}) must be at most half of overlap ({o}), got {m}"
            )
    device = lrs.device if device is None else torch.device(device)
    out_device = lrs.device if out_device is None else torch.device(out_device)

    b, t, _, h, w = lrs.shape
    factors = (1, scale, scale)
    plans = [
        _axis_plan(length, tl, ov, mg, f, blend)
        for length, tl, ov, mg, f in zip(
            (t, h, w), tile3, overlap3, margin3, factors, strict=True
        )
    ]

    def run(x: Tensor) -> Tensor:
        with torch.no_grad():
            y = model(x.to(device))
        expected = (b, x.size(1), scale * x.size(3), scale * x.size(4))
        if y.dim() != 5 or (y.size(0), y.size(1), y.size(3), y.size(4)) != expected:
            raise ValueError(
                f"model output {tuple(y.shape)} does not fit input "
                f"{tuple(x.shape)} at scale {scale}"
            )
        return y.to(out_device)

    total = len(plans[0]) * len(plans[1]) * len(plans[2])
    if total == 1:
        out = run(lrs)
        if progress is not None:
            progress(1, 1)
        return out

    out: Tensor | None = None
    done = 0
    for t0, t1, wt in plans[0]:
        for y0, y1, wy in plans[1]:
            for x0, x1, wx in plans[2]:
                y = run(lrs[:, t0:t1, :, y0:y1, x0:x1])
                done += 1
                if progress is not None:
                    progress(done, total)
                if out is None:
                    dtype = y.dtype
                    if dtype not in (torch.float32, torch.float64):
                        dtype = torch.float32
                    shape = (b, t, y.size(2), scale * h, scale * w)
                    out = torch.zeros(shape, dtype=dtype, device=out_device)
                weight = (wt[:, None, None] * wy[:, None] * wx).to(out_device, dtype)
                out[:, t0:t1, :, scale * y0 : scale * y1, scale * x0 : scale * x1] += (
                    y * weight[None, :, None]
                )
    assert out is not None
    return out
