"""From heatmaps to joint coordinates: coordinate frames, decoding, flip test.

Pixel-centre convention. An input pixel ``x`` (its centre) and a heatmap pixel
``u`` of a ``w``-wide input with a ``w_h``-wide heatmap are related by
``u = (x + 0.5) * w_h / w - 0.5``. With this mapping, mirroring the input
(``x -> w - 1 - x``) mirrors the heatmap exactly (``u -> w_h - 1 - u``), so the
flip test needs no one-pixel shift, and inputs of any size (not only multiples
of the stride) map consistently.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "decode_heatmaps",
    "flip_back",
    "heatmap_to_input",
    "input_to_heatmap",
    "predict_joints",
]


def _scale(from_size: Sequence[int], to_size: Sequence[int], like: Tensor) -> Tensor:
    """Per-axis (x, y) scale from a (h, w) frame to another."""
    return torch.tensor(
        [to_size[1] / from_size[1], to_size[0] / from_size[0]],
        dtype=like.dtype if like.is_floating_point() else torch.float64,
        device=like.device,
    )


def input_to_heatmap(
    points: Tensor, input_size: Sequence[int], heatmap_size: Sequence[int]
) -> Tensor:
    """Map ``(..., 2)`` (x, y) input pixels to heatmap pixels; sizes are (h, w)."""
    return (points + 0.5) * _scale(input_size, heatmap_size, points) - 0.5


def heatmap_to_input(
    points: Tensor, heatmap_size: Sequence[int], input_size: Sequence[int]
) -> Tensor:
    """Map ``(..., 2)`` (x, y) heatmap pixels to input pixels; sizes are (h, w)."""
    return (points + 0.5) * _scale(heatmap_size, input_size, points) - 0.5


def decode_heatmaps(heatmaps: Tensor) -> tuple[Tensor, Tensor]:
    """Joint locations of heatmaps: the arg-max moved a quarter pixel uphill.

    The classic decoding of SimpleBaseline/HRNet/ViTPose: the integer arg-max
    of each heatmap, shifted by 0.25 px per axis towards the larger of its two
    neighbours, which halves the quantisation error of the arg-max.

    Parameters
    ----------
    heatmaps : Tensor
        ``(N, J, H, W)``.

    Returns
    -------
    coords : Tensor
        ``(N, J, 2)`` float (x, y) in heatmap pixels.
    scores : Tensor
        ``(N, J)`` the maximum of each heatmap.
    """
    if heatmaps.dim() != 4:
        raise ValueError(
            f"decode_heatmaps expects (N, J, H, W), got {tuple(heatmaps.shape)}"
        )
    n, j, h, w = heatmaps.shape
    flat = heatmaps.detach().float().reshape(n, j, h * w)
    scores, index = flat.max(dim=-1)
    x = (index % w).float()
    y = torch.div(index, w, rounding_mode="floor").float()

    def at(yy: Tensor, xx: Tensor) -> Tensor:
        flat_index = yy.long().clamp(0, h - 1) * w + xx.long().clamp(0, w - 1)
        return flat.gather(2, flat_index[..., None]).squeeze(-1)

    dx = torch.sign(at(y, x + 1) - at(y, x - 1))
    dy = torch.sign(at(y + 1, x) - at(y - 1, x))
    inside_x = (x > 0) & (x < w - 1)
    inside_y = (y > 0) & (y < h - 1)
    x = x + 0.25 * torch.where(inside_x, dx, torch.zeros_like(dx))
    y = y + 0.25 * torch.where(inside_y, dy, torch.zeros_like(dy))
    return torch.stack([x, y], dim=-1), scores


def flip_back(heatmaps: Tensor, flip_pairs: Sequence[tuple[int, int]]) -> Tensor:
    """Heatmaps of a mirrored input, mirrored back with left and right swapped."""
    order = list(range(heatmaps.shape[1]))
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return heatmaps.flip(-1)[:, order]


@torch.no_grad()
def predict_joints(
    model: nn.Module,
    images: Tensor,
    flip_pairs: Sequence[tuple[int, int]] | None = None,
) -> tuple[Tensor, Tensor]:
    """Joint coordinates in input pixels for a batch of crops.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 3, H, W)`` images to ``(N, J, H_h, W_h)`` heatmaps.
    images : Tensor
        ``(N, 3, H, W)`` normalised crops on the model's device.
    flip_pairs : Sequence[tuple[int, int]] or None
        With pairs, the flip test: the heatmaps are averaged with those of the
        mirrored crops (mirrored back, left and right swapped).

    Returns
    -------
    coords : Tensor
        ``(N, J, 2)`` (x, y) in input pixels, float32 on the CPU.
    scores : Tensor
        ``(N, J)`` heatmap maxima.
    """
    heatmaps = model(images).float()
    if flip_pairs is not None:
        flipped = model(images.flip(-1)).float()
        heatmaps = 0.5 * (heatmaps + flip_back(flipped, flip_pairs))
    coords, scores = decode_heatmaps(heatmaps)
    coords = heatmap_to_input(coords, heatmaps.shape[-2:], images.shape[-2:])
    return coords.cpu(), scores.cpu()
