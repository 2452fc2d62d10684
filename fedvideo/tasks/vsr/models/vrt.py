"""A compact video restoration transformer for video super-resolution.

In the spirit of VRT (Liang et al., "VRT: A Video Restoration Transformer",
2022): per-frame shallow features, a stack of stages of **temporal mutual
self-attention** (TMSA) blocks, and pixel-shuffle reconstruction added to the
upsampled low-resolution frame.

A TMSA block splits the clip into pairs of frames and each pair into 3-D
windows of 2 frames × w × w pixels. Inside a window the queries of frame A
attend to the keys and values of frame B and vice versa (mutual attention), and
all 2·w·w tokens attend to each other (self-attention); the two results are
concatenated and projected back to ``dim`` channels. Alternate blocks shift the
temporal pairing by one frame and the spatial windows by w/2 (Swin-style cyclic
shift with an attention mask), so information spreads over the whole clip and
across window borders as blocks are stacked.

Written for fedvideo from the papers' description; the differences from VRT are
listed in the notes of :class:`VideoTransformerSR`.
"""

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .basicvsr import (
    check_base_upsampling,
    upsampled_base,
    zero_residual_output_,
)
from .spynet import SpyNet, bidirectional_flows
from .warp import flow_warp

__all__ = [
    "GEGLUMlp",
    "ParallelWarping",
    "TMSABlock",
    "TMSAStage",
    "TemporalMutualSelfAttention",
    "VideoTransformerSR",
    "relative_position_index",
    "temporal_pairs",
    "vrt_small",
    "vrt_tiny",
    "window_attention_mask",
    "window_partition",
    "window_reverse",
]

SUPPORTED_SCALES = (2, 4)


# --- Helpers: temporal pairs, windows, masks, relative positions -------------


def temporal_pairs(num_frames: int, shifted: bool) -> list[tuple[int, int]]:
    """Pairs of frames that attend to each other in one TMSA block.

    Unshifted blocks pair (0, 1), (2, 3), ...; shifted blocks pair (1, 2),
    (3, 4), .... A frame left without a partner (the last frame of an odd
    clip in unshifted blocks; the first frame, and the last of an even clip, in
    shifted blocks) is paired with itself, ``(i, i)``: in that block it attends
    only to its own window.

    Parameters
    ----------
    num_frames : int
        Clip length T >= 1.
    shifted : bool
        Whether the pairing is shifted by one frame.

    Returns
    -------
    list of tuple of int
        The pairs ``(a, b)`` with ``a <= b``, in frame order; every frame occurs
        in exactly one pair.

    Examples
    --------
    >>> temporal_pairs(5, shifted=False)
    [(0, 1), (2, 3), (4, 4)]
    >>> temporal_pairs(5, shifted=True)
    [(0, 0), (1, 2), (3, 4)]
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    pairs: list[tuple[int, int]] = []
    start = 0
    if shifted:
        pairs.append((0, 0))
        start = 1
    for a in range(start, num_frames, 2):
        pairs.append((a, a + 1 if a + 1 < num_frames else a))
    return pairs


def window_partition(x: Tensor, window: int) -> Tensor:
    """Split frames into non-overlapping 3-D windows of D × window × window.

    Parameters
    ----------
    x : Tensor
        Tokens of shape (N, D, H, W, C); H and W must be multiples of ``window``.
    window : int
        Spatial side of a window.

    Returns
    -------
    Tensor
        Windows of shape (N, nW, D·window·window, C), with nW = (H/window) ·
        (W/window) in row-major order; the tokens of a window are ordered by
        frame, then row, then column.
    """
    n, d, h, w, c = x.shape
    if h % window or w % window:
        raise ValueError(
            f"window_partition needs H and W divisible by the window {window}, got "
            f"{h}×{w}"
        )
    x = x.view(n, d, h // window, window, w // window, window, c)
    x = x.permute(0, 2, 4, 1, 3, 5, 6)
    return x.reshape(n, (h // window) * (w // window), d * window * window, c)


def window_reverse(windows: Tensor, window: int, height: int, width: int) -> Tensor:
    """Inverse of :func:`window_partition`.

    Parameters
    ----------
    windows : Tensor
        Windows of shape (N, nW, D·window·window, C).
    window : int
        Spatial side of a window.
    height, width : int
        Size H × W of the frames the windows were cut from.

    Returns
    -------
    Tensor
        Tokens of shape (N, D, H, W, C).
    """
    n, num_windows, length, c = windows.shape
    nh, nw = height // window, width // window
    if nh * nw != num_windows or length % (window * window):
        raise ValueError(
            f"{num_windows} windows of {length} tokens do not tile {height}×{width} "
            f"with window {window}"
        )
    d = length // (window * window)
    x = windows.view(n, nh, nw, d, window, window, c).permute(0, 3, 1, 4, 2, 5, 6)
    return x.reshape(n, d, height, width, c)


def window_attention_mask(
    padded_size: tuple[int, int],
    window: int,
    shift: tuple[int, int] = (0, 0),
    valid_size: tuple[int, int] | None = None,
    device: torch.device | str | None = None,
) -> Tensor | None:
    """Which tokens of a spatial window may attend to which.

    The frames (padded at the bottom and right to ``padded_size``) are rolled
    by ``-shift`` before partitioning (Swin's cyclic shift), so the last window
    along a shifted axis holds pixels from both ends of the frame. Tokens may
    attend to each other only if they were neighbours before the roll, i.e. both
    or neither wrapped around along each axis. Keys in the padding are hidden
    from real queries; padded queries (whose outputs are discarded) see their
    own region, so no row of the mask is empty.

    Parameters
    ----------
    padded_size : tuple of int
        Padded frame size (Hp, Wp), multiples of ``window``.
    window : int
        Spatial side of a window.
    shift : tuple of int, optional
        Cyclic shift (sh, sw) of the rows and columns, each in [0, window).
    valid_size : tuple of int or None, optional
        Size (H, W) of the real content in the top-left corner; ``None`` means
        no padding.
    device : torch.device or str or None, optional
        Device of the mask.

    Returns
    -------
    Tensor or None
        Boolean mask of shape (nW, window², window²), ``True`` where query
        (row) may attend to key (column), windows and tokens ordered as in
        :func:`window_partition`; ``None`` when nothing is masked (no shift and
        no padding).
    """
    hp, wp = padded_size
    vh, vw = padded_size if valid_size is None else valid_size
    sh, sw = shift
    if hp % window or wp % window:
        raise ValueError(
            f"padded size {hp}×{wp} is not a multiple of the window {window}"
        )
    if not (0 <= sh < window and 0 <= sw < window):
        raise ValueError(f"shift {shift} must lie in [0, {window})")
    if not (1 <= vh <= hp and 1 <= vw <= wp):
        raise ValueError(f"valid size {vh}×{vw} must lie within {hp}×{wp}")
    if (sh, sw) == (0, 0) and (vh, vw) == (hp, wp):
        return None
    # After torch.roll(x, -s), position r holds the original position r + s (mod n).
    rows = torch.arange(hp, device=device) + sh
    cols = torch.arange(wp, device=device) + sw
    region = (rows >= hp).long()[:, None] * 2 + (cols >= wp).long()[None, :]
    valid = ((rows % hp) < vh)[:, None] & ((cols % wp) < vw)[None, :]
    region_w = window_partition(region.view(1, 1, hp, wp, 1), window)[0, :, :, 0]
    valid_w = window_partition(valid.view(1, 1, hp, wp, 1), window)[0, :, :, 0]
    same_region = region_w[:, :, None] == region_w[:, None, :]
    return same_region & (valid_w[:, None, :] | ~valid_w[:, :, None])


@functools.lru_cache(maxsize=64)
def _cached_window_mask(
    padded_size: tuple[int, int],
    window: int,
    shift: tuple[int, int],
    valid_size: tuple[int, int],
    device: torch.device,
) -> Tensor | None:
    """Memoised :func:`window_attention_mask` (the masks are never modified)."""
    return window_attention_mask(padded_size, window, shift, valid_size, device)


def relative_position_index(depth: int, window: int) -> Tensor:
    """Index of every token pair of a depth × window × window window in a bias table.

    Parameters
    ----------
    depth : int
        Frames in the window.
    window : int
        Spatial side of the window.

    Returns
    -------
    Tensor
        Long tensor (N, N), N = depth·window², whose entry (i, j) numbers the
        offset of token i relative to token j among the
        (2·depth − 1)·(2·window − 1)² possible offsets.
    """
    coords = torch.stack(
        torch.meshgrid(
            torch.arange(depth),
            torch.arange(window),
            torch.arange(window),
            indexing="ij",
        )
    ).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]
    span = 2 * window - 1
    return (
        (rel[0] + depth - 1) * span * span
        + (rel[1] + window - 1) * span
        + (rel[2] + window - 1)
    )


def _attention(query: Tensor, key: Tensor, value: Tensor, bias: Tensor) -> Tensor:
    """Softmax attention with an additive bias (``-inf`` where masked).

    :func:`torch.nn.functional.scaled_dot_product_attention`, except when
    training on the CPU: there it would run its generic "math" path, with extra
    passes over the scores for fully masked rows (which never occur here), and
    the plain expression below is about 10 % faster for the whole model.

    Parameters
    ----------
    query, key, value : Tensor
        Shape (..., L, d), (..., S, d), (..., S, d).
    bias : Tensor
        Broadcastable to (..., L, S).

    Returns
    -------
    Tensor
        Shape (..., L, d).
    """
    if query.device.type == "cpu" and torch.is_grad_enabled():
        scores = (query * query.size(-1) ** -0.5) @ key.transpose(-2, -1) + bias
        return scores.softmax(-1) @ value
    return F.scaled_dot_product_attention(query, key, value, attn_mask=bias)


# --- Layers ------------------------------------------------------------------


class GEGLUMlp(nn.Module):
    """Gated-GELU feed-forward layer: ``fc2(gelu(fc11(x)) * fc12(x))``, as in VRT.

    Parameters
    ----------
    in_features : int
        Input channels.
    hidden_features : int
        Hidden channels.
    out_features : int or None, optional
        Output channels; ``None`` means ``in_features``.
    """

    def __init__(
        self, in_features: int, hidden_features: int, out_features: int | None = None
    ) -> None:
        super().__init__()
        self.fc11 = nn.Linear(in_features, hidden_features)
        self.fc12 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer over the last dimension."""
        return self.fc2(F.gelu(self.fc11(x)) * self.fc12(x))


class TemporalMutualSelfAttention(nn.Module):
    """Mutual and self-attention inside windows of 2 frames × w × w pixels.

    Mutual attention: the queries of frame A attend to the keys and values of
    frame B, and those of B to A's. Self-attention: all 2·w² tokens of the
    window attend to each other. Both use their own query/key/value projection
    and a learned relative position bias per head: over the 3 × (2w − 1)²
    offsets of the 3-D window for self-attention, and over the (2w − 1)² spatial
    offsets, separately for A→B and B→A, for mutual attention. The two outputs
    are concatenated (mutual first) and projected to ``dim`` channels.

    Parameters
    ----------
    dim : int
        Channels of the tokens.
    num_heads : int
        Attention heads; must divide ``dim``.
    window_size : int
        Spatial side w of a window.
    """

    self_index: Tensor
    mutual_index: Tensor

    def __init__(self, dim: int, num_heads: int, window_size: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads {num_heads} must divide dim {dim}")
        self.dim = dim
        self.num_heads = num_heads
        self.window_size = window_size
        span = 2 * window_size - 1
        self.qkv_self = nn.Linear(dim, 3 * dim)
        self.qkv_mutual = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(2 * dim, dim)
        self.self_bias_table = nn.Parameter(torch.zeros(3 * span * span, num_heads))
        self.mutual_bias_table = nn.Parameter(torch.zeros(2, span * span, num_heads))
        nn.init.trunc_normal_(self.self_bias_table, std=0.02)
        nn.init.trunc_normal_(self.mutual_bias_table, std=0.02)
        # Derived from the window size: kept out of the state_dict.
        self.register_buffer(
            "self_index", relative_position_index(2, window_size), persistent=False
        )
        self.register_buffer(
            "mutual_index", relative_position_index(1, window_size), persistent=False
        )

    def _attention_bias(self, bias: Tensor, allowed: Tensor | None) -> Tensor:
        """Add the mask to a (..., heads, L, S) bias: (nW or 1, ..., heads, L, S)."""
        if allowed is None:
            return bias.unsqueeze(0)
        extra = bias.dim() - 3  # dimensions between the window and head axes
        allowed = allowed.view(
            allowed.size(0), *([1] * (extra + 1)), *allowed.shape[1:]
        )
        return bias.unsqueeze(0).masked_fill(~allowed, float("-inf"))

    def forward(self, windows: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attend within windows.

        Parameters
        ----------
        windows : Tensor
            Tokens of shape (M, nW, 2·w², C): the windows of M frame pairs, frame
            A's w² tokens first, then frame B's.
        mask : Tensor or None, optional
            Spatial mask (nW, w², w²) from :func:`window_attention_mask`
            (``True`` = may attend), applied to both attentions; ``None`` = all.

        Returns
        -------
        Tensor
            Shape (M, nW, 2·w², C).
        """
        m, nw, n, c = windows.shape
        area = self.window_size**2
        if n != 2 * area or c != self.dim:
            raise ValueError(
                f"expected windows of {2 * area} tokens with {self.dim} channels, "
                f"got {tuple(windows.shape)}"
            )
        heads, hd = self.num_heads, c // self.num_heads
        num_w = 1 if mask is None else nw
        if mask is not None and mask.shape != (nw, area, area):
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not fit {nw} windows of "
                f"{area} tokens"
            )

        # Mutual attention: A's queries against B's keys and values, and vice versa.
        qkv = self.qkv_mutual(windows).view(m, nw, 2, area, 3, heads, hd)
        q, k, v = qkv.permute(4, 0, 1, 2, 5, 3, 6).unbind(0)  # (M, nW, 2, h, w², d)
        k, v = k.flip(2), v.flip(2)
        bias = self.mutual_bias_table[:, self.mutual_index]  # (2, w², w², h)
        bias = self._attention_bias(bias.permute(0, 3, 1, 2), mask)
        bias = bias.to(q.dtype).expand(num_w, 2, heads, area, area)
        q_per_window = nw // num_w
        mutual = _attention(
            q.reshape(m * q_per_window, num_w * 2 * heads, area, hd),
            k.reshape(m * q_per_window, num_w * 2 * heads, area, hd),
            v.reshape(m * q_per_window, num_w * 2 * heads, area, hd),
            bias.reshape(num_w * 2 * heads, area, area),
        )
        mutual = mutual.view(m, nw, 2, heads, area, hd).permute(0, 1, 2, 4, 3, 5)
        mutual = mutual.reshape(m, nw, n, c)

        # Self-attention over all 2·w² tokens of the window.
        qkv = self.qkv_self(windows).view(m, nw, n, 3, heads, hd)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # (M, nW, h, 2w², d)
        bias = self.self_bias_table[self.self_index].permute(2, 0, 1)  # (h, N, N)
        full_mask = None if mask is None else mask.repeat(1, 2, 2)
        bias = self._attention_bias(bias, full_mask).to(q.dtype)
        bias = bias.expand(num_w, heads, n, n)
        attended = _attention(
            q.reshape(m * q_per_window, num_w * heads, n, hd),
            k.reshape(m * q_per_window, num_w * heads, n, hd),
            v.reshape(m * q_per_window, num_w * heads, n, hd),
            bias.reshape(num_w * heads, n, n),
        )
        attended = (
            attended.view(m, nw, heads, n, hd).transpose(2, 3).reshape(m, nw, n, c)
        )
        return self.proj(torch.cat((mutual, attended), -1))


class TMSABlock(nn.Module):
    """Pre-norm transformer block with temporal mutual self-attention.

    ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``, where ``attn`` pairs
    the frames by :func:`temporal_pairs`, pads the frames at the bottom and
    right to multiples of the window, optionally rolls them by half a window,
    and runs :class:`TemporalMutualSelfAttention` in every 2 × w × w window.
    The padding is hidden from the real tokens by the attention mask, so the
    output does not depend on it.

    Parameters
    ----------
    dim : int
        Channels of the tokens.
    num_heads : int
        Attention heads.
    window_size : int
        Spatial side w of the windows.
    mlp_ratio : float, optional
        Hidden channels of the gated MLP per input channel.
    shifted : bool, optional
        Shift the temporal pairing by one frame and the windows by ``w // 2``
        pixels along each axis on which the padded frame spans more than one
        window (a single window along an axis already covers it).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float = 2.0,
        shifted: bool = False,
    ) -> None:
        super().__init__()
        self.window_size = window_size
        self.shifted = shifted
        self.norm1 = nn.LayerNorm(dim)
        self.attn = TemporalMutualSelfAttention(dim, num_heads, window_size)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = GEGLUMlp(dim, max(1, round(dim * mlp_ratio)))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block, (B, T, H, W, C) → (B, T, H, W, C), any T, H, W >= 1."""
        b, t, h, w, c = x.shape
        ws = self.window_size
        pairs = temporal_pairs(t, self.shifted)
        num_pairs = len(pairs)
        hp, wp = math.ceil(h / ws) * ws, math.ceil(w / ws) * ws
        half = ws // 2 if self.shifted else 0
        shift = (half if hp > ws else 0, half if wp > ws else 0)

        firsts = torch.tensor([a for a, _ in pairs], device=x.device)
        seconds = torch.tensor([b_ for _, b_ in pairs], device=x.device)
        source = [0] * t  # where each frame's output lands in (pairs, 2)
        for p, (a, b_) in enumerate(pairs):
            source[b_] = 2 * p + 1
            source[a] = 2 * p  # a self-paired frame keeps its first copy

        y = self.norm1(x)
        y = torch.stack((y[:, firsts], y[:, seconds]), 2).view(
            b * num_pairs, 2, h, w, c
        )
        if (hp, wp) != (h, w):
            y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        if shift != (0, 0):
            y = torch.roll(y, shifts=(-shift[0], -shift[1]), dims=(2, 3))
        mask = _cached_window_mask((hp, wp), ws, shift, (h, w), x.device)
        y = self.attn(window_partition(y, ws), mask)
        y = window_reverse(y, ws, hp, wp)
        if shift != (0, 0):
            y = torch.roll(y, shifts=shift, dims=(2, 3))
        y = y[:, :, :h, :w].reshape(b, 2 * num_pairs, h, w, c)
        x = x + y[:, torch.tensor(source, device=x.device)]
        return x + self.mlp(self.norm2(x))


class TMSAStage(nn.Module):
    """A residual group of TMSA blocks: ``x + linear(blocks(x))``.

    Parameters
    ----------
    dim : int
        Channels of the tokens.
    depth : int
        Number of :class:`TMSABlock`.
    num_heads : int
        Attention heads.
    window_size : int
        Spatial side of the windows.
    mlp_ratio : float, optional
        Hidden channels of the MLPs per input channel.
    first_block_index : int, optional
        Global index of the first block: blocks with an odd global index are
        shifted, so shifting alternates across stage borders too.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float = 2.0,
        first_block_index: int = 0,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TMSABlock(
                dim,
                num_heads,
                window_size,
                mlp_ratio,
                shifted=(first_block_index + i) % 2 == 1,
            )
            for i in range(depth)
        )
        self.linear = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the stage, (B, T, H, W, C) → (B, T, H, W, C)."""
        y = x
        for block in self.blocks:
            y = block(y)
        return x + self.linear(y)


class ParallelWarping(nn.Module):
    """Flow-based parallel warping: fuse each frame with its aligned neighbours.

    The features of frames t − 1 and t + 1 are warped to frame t with the
    optical flows (zeros where a neighbour is missing), concatenated with frame
    t's and fused by a gated MLP, added as a residual:
    ``x + mlp(cat(x, warp(x[t-1]), warp(x[t+1])))``.

    Parameters
    ----------
    dim : int
        Channels of the tokens.
    mlp_ratio : float, optional
        Hidden channels of the fusion MLP per output channel.
    """

    def __init__(self, dim: int, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.fuse = GEGLUMlp(3 * dim, max(1, round(dim * mlp_ratio)), dim)

    def forward(
        self, x: Tensor, flows_forward: Tensor, flows_backward: Tensor
    ) -> Tensor:
        """Fuse, (B, T, H, W, C) → (B, T, H, W, C).

        Parameters
        ----------
        x : Tensor
            Tokens of shape (B, T, H, W, C), T >= 2.
        flows_forward : Tensor
            (B, T-1, 2, H, W); entry i aligns frame i to frame i+1.
        flows_backward : Tensor
            (B, T-1, 2, H, W); entry i aligns frame i+1 to frame i.

        Returns
        -------
        Tensor
            Shape (B, T, H, W, C).
        """
        b, t, h, w, c = x.shape
        feat = x.permute(0, 1, 4, 2, 3)
        prev = flow_warp(
            feat[:, :-1].reshape(-1, c, h, w), flows_forward.reshape(-1, 2, h, w)
        ).view(b, t - 1, c, h, w)
        nxt = flow_warp(
            feat[:, 1:].reshape(-1, c, h, w), flows_backward.reshape(-1, 2, h, w)
        ).view(b, t - 1, c, h, w)
        zero = feat.new_zeros(b, 1, c, h, w)
        prev = torch.cat((zero, prev), 1).permute(0, 1, 3, 4, 2)
        nxt = torch.cat((nxt, zero), 1).permute(0, 1, 3, 4, 2)
        return x + self.fuse(torch.cat((x, prev, nxt), -1))


# --- Model --------------------------------------------------------------------


class VideoTransformerSR(nn.Module):
    """Compact VRT-style video transformer for super-resolution.

    Maps a low-resolution clip (B, T, 3, h, w) with values in [0, 1] to
    (B, T, 3, scale·h, scale·w), for any T >= 1 and h, w >= 1.

    Pipeline: a 3×3 convolution per frame to ``dim`` channels (shallow
    features); ``len(depths)`` :class:`TMSAStage` (each optionally followed by
    :class:`ParallelWarping`); LayerNorm and a linear layer, plus the shallow
    features; then a 3×3 convolution to ``upsample_feat`` channels, one (×2) or
    two (×4) pixel-shuffle ×2 steps, a 3×3 convolution to RGB, and the sum with
    the LR frame upsampled by ``base_upsampling``.

    Parameters
    ----------
    scale : int, optional
        Upsampling factor, 4 or 2.
    dim : int, optional
        Channels of the transformer tokens.
    depths : sequence of int, optional
        TMSA blocks per stage. Blocks alternate between unshifted and shifted
        (pairing and windows) over the whole stack.
    num_heads : int, optional
        Attention heads of every block; must divide ``dim``.
    window_size : int, optional
        Spatial side w of the 2 × w × w attention windows.
    mlp_ratio : float, optional
        Hidden channels of the gated MLPs per channel.
    upsample_feat : int or None, optional
        Channels of the reconstruction layers (VRT: 64); ``None`` means ``dim``.
    base_upsampling : str, optional
        Interpolation of the LR frame the prediction is added to:
        ``"bilinear"`` (as VRT) or ``"bicubic"``.
    parallel_warping : bool, optional
        Add flow-based :class:`ParallelWarping` after every stage, with the flows
        of a :class:`~fedvideo.tasks.vsr.models.spynet.SpyNet` computed once from the LR
        frames (trained with the model).
    spynet_levels, spynet_width : int, float, optional
        Size of that SpyNet (only with ``parallel_warping``).

    Notes
    -----
    Simplifications relative to VRT:

    * One resolution: no multi-scale (U-Net-like) stages, and no final stages
      of self-attention over longer temporal windows.
    * Every block does both mutual and self-attention (VRT drops mutual
      attention in the last blocks of a stage) and the temporal window is always
      2 frames.
    * Positions enter only through learned relative position biases; mutual
      attention has its own spatial bias (one per direction) instead of VRT's
      sine position encoding.
    * Odd clips: the frame left without a partner in a block is paired with
      itself (it attends only to its own window there) instead of VRT's
      zero-padded frame.
    * Parallel warping is optional and off in the presets, and uses plain flow
      warping of the neighbours' features, not VRT's flow-guided deformable
      convolution. Blocks pad frames to multiples of the window and mask the
      padding out of the attention.

    The reconstruction runs over at most ``recon_chunk_pixels`` LR pixels
    (frames·h·w) per call, which bounds the memory of the high-resolution
    layers on long clips.
    """

    #: Upper bound on B·frames·h·w per reconstruction call.
    recon_chunk_pixels: int = 2**16

    def __init__(
        self,
        scale: int = 4,
        dim: int = 64,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: int = 4,
        window_size: int = 8,
        mlp_ratio: float = 2.0,
        upsample_feat: int | None = None,
        base_upsampling: str = "bilinear",
        parallel_warping: bool = False,
        spynet_levels: int = 6,
        spynet_width: float = 1.0,
    ) -> None:
        super().__init__()
        if scale not in SUPPORTED_SCALES:
            raise ValueError(
                "VideoTransformerSR supports scale "
                f"{' or '.join(map(str, SUPPORTED_SCALES))}, got {scale}"
            )
        depths = tuple(depths)
        if not depths or any(d < 1 for d in depths):
            raise ValueError(
                f"depths must be a non-empty list of ints >= 1, got {depths}"
            )
        if dim < 1 or num_heads < 1 or dim % num_heads:
            raise ValueError(
                f"dim ({dim}) must be a positive multiple of num_heads ({num_heads})"
            )
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {mlp_ratio}")
        upsample_feat = dim if upsample_feat is None else upsample_feat
        if upsample_feat < 1:
            raise ValueError(f"upsample_feat must be >= 1, got {upsample_feat}")
        check_base_upsampling(base_upsampling)
        self.scale = scale
        self.dim = dim
        self.depths = depths
        self.window_size = window_size
        self.base_upsampling = base_upsampling

        self.conv_first = nn.Conv2d(3, dim, 3, 1, 1)
        starts = [sum(depths[:i]) for i in range(len(depths))]
        self.stages = nn.ModuleList(
            TMSAStage(dim, depth, num_heads, window_size, mlp_ratio, start)
            for depth, start in zip(depths, starts, strict=True)
        )
        self.spynet: SpyNet | None = None
        self.warps: nn.ModuleList | None = None
        if parallel_warping:
            self.spynet = SpyNet(num_levels=spynet_levels, width=spynet_width)
            self.warps = nn.ModuleList(ParallelWarping(dim, mlp_ratio) for _ in depths)
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = nn.Linear(dim, dim)

        self.conv_before_upsample = nn.Conv2d(dim, upsample_feat, 3, 1, 1)
        self.upconv1 = nn.Conv2d(upsample_feat, 4 * upsample_feat, 3, 1, 1)
        self.upconv2: nn.Conv2d | None = None
        if scale == 4:
            self.upconv2 = nn.Conv2d(upsample_feat, 4 * upsample_feat, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_last = nn.Conv2d(upsample_feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        zero_residual_output_(self.conv_last)

    def compute_flows(self, lrs: Tensor) -> tuple[Tensor, Tensor]:
        """Flows between neighbouring frames, both directions, one SpyNet call.

        See :func:`~fedvideo.tasks.vsr.models.spynet.bidirectional_flows`.
        """
        if self.spynet is None:
            raise RuntimeError("compute_flows needs parallel_warping=True")
        return bidirectional_flows(self.spynet, lrs)

    def _reconstruct(self, feat: Tensor, lr: Tensor) -> Tensor:
        """Upsample features and add the upsampled frame: (N, C, h, w) → HR."""
        x = self.lrelu(self.conv_before_upsample(feat))
        x = self.lrelu(self.pixel_shuffle(self.upconv1(x)))
        if self.upconv2 is not None:
            x = self.lrelu(self.pixel_shuffle(self.upconv2(x)))
        x = self.conv_last(x)
        return x + upsampled_base(lr, self.scale, self.base_upsampling)

    def forward(self, lrs: Tensor) -> Tensor:
        """Super-resolve a clip.

        Parameters
        ----------
        lrs : Tensor
            Low-resolution frames in [0, 1], shape (B, T, 3, h, w).

        Returns
        -------
        Tensor
            Super-resolved frames, shape (B, T, 3, scale·h, scale·w), contiguous.

        Raises
        ------
        ValueError
            If the input is not (B, T, 3, h, w) with B, T, h, w >= 1.
        """
        if lrs.dim() != 5 or lrs.size(2) != 3 or 0 in lrs.shape:
            raise ValueError(
                "VideoTransformerSR expects (B, T, 3, h, w) input with B, T, h, w "
                f">= 1, got {tuple(lrs.shape)}"
            )
        b, t, _, h, w = lrs.shape
        frames = lrs.reshape(b * t, 3, h, w)
        shallow = self.conv_first(frames)
        x = shallow.view(b, t, self.dim, h, w).permute(0, 1, 3, 4, 2)

        flows = None
        if self.warps is not None and t > 1:
            flows = self.compute_flows(lrs)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if flows is not None and self.warps is not None:
                x = self.warps[i](x, *flows)
        x = self.conv_after_body(self.norm(x))
        feat = x.permute(0, 1, 4, 2, 3).reshape(b * t, self.dim, h, w) + shallow

        chunk = max(1, self.recon_chunk_pixels // (h * w))
        outputs = [
            self._reconstruct(feat[i : i + chunk], frames[i : i + chunk])
            for i in range(0, b * t, chunk)
        ]
        out = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        return out.view(b, t, 3, self.scale * h, self.scale * w).contiguous()


def vrt_tiny(**kwargs: Any) -> VideoTransformerSR:
    """Build a CPU-friendly VRT-style model for 16×16 to 32×32 LR crops.

    32 channels, 2 stages × 2 TMSA blocks, 2 heads, 8×8 windows, gated MLP ratio
    2, 16 channels in the reconstruction layers, and the bicubic-upsampled frame
    as the residual base; no parallel warping.

    Parameters
    ----------
    **kwargs : Any
        Overrides of the :class:`VideoTransformerSR` arguments, e.g. ``scale=2``.

    Returns
    -------
    VideoTransformerSR
        The model.
    """
    config: dict[str, Any] = {
        "dim": 32,
        "depths": (2, 2),
        "num_heads": 2,
        "window_size": 8,
        "mlp_ratio": 2.0,
        "upsample_feat": 16,
        "base_upsampling": "bicubic",
    }
    return VideoTransformerSR(**(config | kwargs))


def vrt_small(**kwargs: Any) -> VideoTransformerSR:
    """Build a VRT-style model with 64 channels, 4 stages × 2 blocks, 4 heads.

    8×8 windows, gated MLP ratio 2, 64 channels in the reconstruction layers
    (as VRT), bilinear residual base (as VRT); no parallel warping.

    Parameters
    ----------
    **kwargs : Any
        Overrides of the :class:`VideoTransformerSR` arguments, e.g. ``scale=2``.

    Returns
    -------
    VideoTransformerSR
        The model.
    """
    config: dict[str, Any] = {
        "dim": 64,
        "depths": (2, 2, 2, 2),
        "num_heads": 4,
        "window_size": 8,
        "mlp_ratio": 2.0,
        "upsample_feat": 64,
    }
    return VideoTransformerSR(**(config | kwargs))
