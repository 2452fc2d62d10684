"""ViTPose (top-down human pose by heatmap regression) with convolutional positions.

The backbone is a plain ViT without class token: a convolutional patch embedding
(kernel 16, stride 16, padding 2, so 256×192 gives a 16×12 token grid), pre-norm
transformer blocks and a final LayerNorm. The "classic" ViTPose decoder upsamples
the token map 4× with two deconvolutions and predicts one heatmap per joint.

Two ways to encode positions:

``"conv"`` (default, ResFormer / RAF)
    *GPE*: a fixed 2-D sin-cos table of the current token grid, passed through a
    depth-wise 3×3 convolution and added after the patch embedding. *LPE*: in
    every attention block, a zero-initialised depth-wise 3×3 convolution over V
    (shared across heads) added to ``attn @ V``. Both work for any grid size.
``"absolute"`` (ablation)
    A learned table for a reference grid, bicubically resized to other grids.

Parameter names follow MAE/timm ViTs (``patch_embed.proj``, ``blocks.{i}.attn.qkv``,
``norm``, ``pos_embed``), so :func:`load_backbone_weights` maps such checkpoints
onto the backbone directly; the decoder lives under ``head``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import StochasticDepth

__all__ = [
    "VITPOSE_SIZES",
    "Attention",
    "Block",
    "GlobalPositionalEmbedding",
    "HeatmapHead",
    "LocalPositionalEmbedding",
    "Mlp",
    "PatchEmbed",
    "ViTPose",
    "ViTPoseSize",
    "build_vitpose",
    "interpolate_pos_embed",
    "layer_decay_param_groups",
    "sincos_position_embedding",
]

POSITIONAL_MODES: tuple[str, ...] = ("conv", "absolute")
LAYER_NORM_EPS = 1e-6
Grid = tuple[int, int]


@dataclass(frozen=True)
class ViTPoseSize:
    """Width and depth of a ViTPose backbone and its decoder.

    Parameters
    ----------
    embed_dim : int
        Token width.
    depth : int
        Number of transformer blocks.
    num_heads : int
        Attention heads per block (``embed_dim`` must be divisible by it).
    mlp_ratio : float
        Hidden width of the MLP relative to ``embed_dim``.
    head_channels : int
        Channels of the two deconvolution layers of the decoder.
    patch_size : int
        Kernel and stride of the patch embedding.
    patch_padding : int
        Zero padding of the patch embedding.
    """

    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    head_channels: int = 256
    patch_size: int = 16
    patch_padding: int = 2


#: Preset name -> size. ``vitpose-s`` is the paper's ViT-S; the others fit a CPU.
VITPOSE_SIZES: dict[str, ViTPoseSize] = {
    "vitpose-tiny": ViTPoseSize(embed_dim=128, depth=4, num_heads=4, head_channels=64),
    "vitpose-small": ViTPoseSize(
        embed_dim=192, depth=6, num_heads=6, head_channels=128
    ),
    "vitpose-s": ViTPoseSize(embed_dim=384, depth=12, num_heads=12, head_channels=256),
}


def sincos_position_embedding(
    embed_dim: int,
    grid: Grid,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Return the fixed MAE-style 2-D sin-cos embedding of a token grid.

    The first half of the channels encodes the column, the second half the row;
    each half is ``[sin(p·ω_i), cos(p·ω_i)]`` with ``ω_i = 1 / 10000^(i / (d/4))``
    for ``i < d/4``.

    Parameters
    ----------
    embed_dim : int
        Number of channels, divisible by 4.
    grid : tuple of int
        Token grid ``(height, width)``.
    device : torch.device, optional
        Device of the result.
    dtype : torch.dtype
        Floating dtype of the result.

    Returns
    -------
    Tensor
        ``(height * width, embed_dim)``, positions in row-major order.
    """
    if embed_dim % 4:
        raise ValueError(f"sin-cos embedding needs embed_dim % 4 == 0, got {embed_dim}")
    grid_h, grid_w = grid
    quarter = embed_dim // 4
    exponent = torch.arange(quarter, device=device, dtype=torch.float32) / quarter
    omega = 1.0 / 10000.0**exponent

    def encode(positions: Tensor) -> Tensor:
        angles = positions[:, None] * omega[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    rows = encode(torch.arange(grid_h, device=device, dtype=torch.float32))
    cols = encode(torch.arange(grid_w, device=device, dtype=torch.float32))
    table = torch.cat(
        [
            cols[None, :, :].expand(grid_h, grid_w, 2 * quarter),
            rows[:, None, :].expand(grid_h, grid_w, 2 * quarter),
        ],
        dim=-1,
    )
    return table.reshape(grid_h * grid_w, embed_dim).to(dtype)


def interpolate_pos_embed(
    pos_embed: Tensor, source_grid: Grid, target_grid: Grid
) -> Tensor:
    """Resize a position table bicubically from one token grid to another.

    Parameters
    ----------
    pos_embed : Tensor
        ``(1, source_h * source_w, dim)``.
    source_grid : tuple of int
        Grid ``(h, w)`` the table was made for.
    target_grid : tuple of int
        Wanted grid ``(h, w)``.

    Returns
    -------
    Tensor
        ``(1, target_h * target_w, dim)``; ``pos_embed`` itself if the grids match.
    """
    source_grid, target_grid = tuple(source_grid), tuple(target_grid)
    if source_grid == target_grid:
        return pos_embed
    dim = pos_embed.shape[-1]
    maps = pos_embed.reshape(1, *source_grid, dim).permute(0, 3, 1, 2)
    maps = F.interpolate(
        maps.float(), size=target_grid, mode="bicubic", align_corners=False
    ).to(pos_embed.dtype)
    return maps.permute(0, 2, 3, 1).reshape(1, target_grid[0] * target_grid[1], dim)


def _check_positional(positional: str) -> None:
    """Raise ValueError for an unknown positional mode."""
    if positional not in POSITIONAL_MODES:
        valid = ", ".join(POSITIONAL_MODES)
        raise ValueError(f"unknown positional {positional!r}; valid: {valid}")


def _tokens_to_maps(tokens: Tensor, grid: Grid) -> Tensor:
    """Reshape ``(B, N, C)`` tokens into ``(B, C, h, w)`` maps."""
    batch, count, channels = tokens.shape
    if count != grid[0] * grid[1]:
        raise ValueError(f"{count} tokens do not fill a {grid[0]}×{grid[1]} grid")
    return tokens.transpose(1, 2).reshape(batch, channels, *grid)


class PatchEmbed(nn.Module):
    """Cut images into patches with a strided convolution.

    Parameters
    ----------
    in_channels : int
        Image channels.
    embed_dim : int
        Token width.
    patch_size : int
        Kernel size and stride.
    padding : int
        Zero padding on every side.
    """

    def __init__(
        self, in_channels: int, embed_dim: int, patch_size: int, padding: int
    ) -> None:
        super().__init__()
        self.proj = nn.Conv2d(
            in_channels,
            embed_dim,
            kernel_size=patch_size,
            stride=patch_size,
            padding=padding,
        )

    def forward(self, images: Tensor) -> tuple[Tensor, Grid]:
        """Map ``(B, C, H, W)`` images to ``(B, h·w, D)`` tokens and their grid.

        Parameters
        ----------
        images : Tensor
            Input batch.

        Returns
        -------
        tuple of (Tensor, tuple of int)
            Tokens and their grid.
        """
        maps = self.proj(images)
        grid = (maps.shape[2], maps.shape[3])
        return maps.flatten(2).transpose(1, 2), grid


class GlobalPositionalEmbedding(nn.Module):
    """GPE: a 2-D sin-cos table of the current grid, then a depth-wise 3×3 conv.

    Parameters
    ----------
    embed_dim : int
        Token width, divisible by 4.
    """

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        if embed_dim % 4:
            raise ValueError(f"GPE needs embed_dim % 4 == 0, got {embed_dim}")
        self.embed_dim = embed_dim
        self.conv = nn.Conv2d(
            embed_dim, embed_dim, kernel_size=3, padding=1, groups=embed_dim
        )

    def forward(self, grid: Grid) -> Tensor:
        """Position embedding of a token grid.

        Parameters
        ----------
        grid : tuple of int
            Token grid ``(h, w)``; any size and aspect ratio.

        Returns
        -------
        Tensor
            ``(1, h·w, embed_dim)``, to add to the tokens.
        """
        weight = self.conv.weight
        table = sincos_position_embedding(
            self.embed_dim, grid, device=weight.device, dtype=weight.dtype
        )
        maps = _tokens_to_maps(table[None], grid)
        return self.conv(maps).flatten(2).transpose(1, 2)


class LocalPositionalEmbedding(nn.Module):
    """LPE: a zero-initialised depth-wise 3×3 conv over V, shared across heads.

    Parameters
    ----------
    head_dim : int
        Channels per attention head.
    """

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            head_dim, head_dim, kernel_size=3, padding=1, groups=head_dim
        )
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, values: Tensor, grid: Grid) -> Tensor:
        """Convolve every head's values on the token grid.

        Parameters
        ----------
        values : Tensor
            ``(B, heads, N, head_dim)`` with ``N = h·w``.
        grid : tuple of int
            Token grid ``(h, w)``.

        Returns
        -------
        Tensor
            Same shape as ``values``.
        """
        batch, heads, count, head_dim = values.shape
        if count != grid[0] * grid[1]:
            raise ValueError(f"{count} tokens do not fill a {grid[0]}×{grid[1]} grid")
        maps = values.transpose(2, 3).reshape(batch * heads, head_dim, *grid)
        out = self.conv(maps).reshape(batch, heads, head_dim, count)
        return out.transpose(2, 3)


class Attention(nn.Module):
    """Multi-head self-attention, optionally with an LPE added to ``attn @ V``.

    Parameters
    ----------
    dim : int
        Token width.
    num_heads : int
        Number of heads; must divide ``dim``.
    qkv_bias : bool
        Give the query/key/value projection a bias.
    local_positional : bool
        Add a :class:`LocalPositionalEmbedding` (attribute ``lpe``, else ``None``).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        qkv_bias: bool = True,
        local_positional: bool = True,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.lpe = LocalPositionalEmbedding(self.head_dim) if local_positional else None

    def forward(self, tokens: Tensor, grid: Grid) -> Tensor:
        """Attend over ``(B, N, dim)`` tokens laid out on ``grid``.

        Parameters
        ----------
        tokens : Tensor
            ``(B, N, dim)``.
        grid : tuple of int
            Token grid ``(h, w)`` with ``h·w = N`` (used by the LPE).

        Returns
        -------
        Tensor
            ``(B, N, dim)``.
        """
        batch, count, dim = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, count, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(query, key, value)
        if self.lpe is not None:
            out = out + self.lpe(value, grid)
        out = out.transpose(1, 2).reshape(batch, count, dim)
        return self.proj(out)


class Mlp(nn.Module):
    """Two linear layers with a GELU in between.

    Parameters
    ----------
    dim : int
        Input and output width.
    hidden_dim : int
        Hidden width.
    """

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, tokens: Tensor) -> Tensor:
        """Apply the MLP token-wise.

        Parameters
        ----------
        tokens : Tensor
            ``(..., dim)``.

        Returns
        -------
        Tensor
            ``(..., dim)``.
        """
        return self.fc2(self.act(self.fc1(tokens)))


class Block(nn.Module):
    """Pre-norm transformer block with stochastic depth on both branches.

    Parameters
    ----------
    dim : int
        Token width.
    num_heads : int
        Attention heads.
    mlp_ratio : float
        MLP hidden width relative to ``dim``.
    drop_path : float
        Probability of dropping a residual branch per sample while training.
    local_positional : bool
        Use an LPE in the attention.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
        local_positional: bool = True,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, num_heads, local_positional=local_positional)
        self.drop_path = StochasticDepth(drop_path, mode="row")
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, tokens: Tensor, grid: Grid) -> Tensor:
        """Update ``(B, N, dim)`` tokens laid out on ``grid``.

        Parameters
        ----------
        tokens : Tensor
            ``(B, N, dim)``.
        grid : tuple of int
            Token grid ``(h, w)``.

        Returns
        -------
        Tensor
            ``(B, N, dim)``.
        """
        tokens = tokens + self.drop_path(self.attn(self.norm1(tokens), grid))
        return tokens + self.drop_path(self.mlp(self.norm2(tokens)))


class HeatmapHead(nn.Module):
    """ViTPose's classic decoder: 2 × (deconv 4/2 → BN → ReLU), then a 1×1 conv.

    Parameters
    ----------
    in_channels : int
        Channels of the backbone feature map.
    channels : int
        Channels of the deconvolution layers.
    num_joints : int
        Number of heatmaps.
    num_deconv : int
        Number of 2× upsampling layers.
    """

    def __init__(
        self, in_channels: int, channels: int, num_joints: int, num_deconv: int = 2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(num_deconv):
            layers += [
                nn.ConvTranspose2d(
                    in_channels if index == 0 else channels,
                    channels,
                    kernel_size=4,
                    stride=2,
                    padding=1,
                    bias=False,
                ),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(channels, num_joints, kernel_size=1)
        self.upsample_factor = 2**num_deconv
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.ConvTranspose2d | nn.Conv2d):
                nn.init.normal_(module.weight, std=0.001)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, features: Tensor) -> Tensor:
        """Map ``(B, C, h, w)`` features to ``(B, joints, 4h, 4w)`` heatmaps.

        Parameters
        ----------
        features : Tensor
            Backbone feature map.

        Returns
        -------
        Tensor
            Heatmaps.
        """
        return self.final_layer(self.deconv_layers(features))


class ViTPose(nn.Module):
    """ViTPose: a plain ViT backbone and a heatmap decoder.

    Parameters
    ----------
    size : ViTPoseSize
        Backbone and decoder size.
    num_joints : int
        Number of predicted heatmaps.
    positional : {"conv", "absolute"}
        ``"conv"``: GPE + LPE (ResFormer); ``"absolute"``: a learned table for
        ``reference_grid``, bicubically resized to other grids.
    drop_path : float
        Stochastic-depth rate of the last block; it grows linearly from 0.
    reference_grid : tuple of int
        Token grid ``(h, w)`` of the absolute table (16×12 for 256×192 inputs).
    """

    def __init__(
        self,
        size: ViTPoseSize,
        num_joints: int = 16,
        positional: str = "conv",
        drop_path: float = 0.1,
        reference_grid: tuple[int, int] = (16, 12),
    ) -> None:
        super().__init__()
        _check_positional(positional)
        self.size = size
        self.num_joints = num_joints
        self.positional = positional
        self.reference_grid = (int(reference_grid[0]), int(reference_grid[1]))
        dim = size.embed_dim
        conv = positional == "conv"

        self.patch_embed = PatchEmbed(3, dim, size.patch_size, size.patch_padding)
        if conv:
            self.register_parameter("pos_embed", None)
            self.gpe: GlobalPositionalEmbedding | None = GlobalPositionalEmbedding(dim)
        else:
            count = self.reference_grid[0] * self.reference_grid[1]
            self.pos_embed = nn.Parameter(torch.zeros(1, count, dim))
            self.gpe = None
        rates = torch.linspace(0, drop_path, size.depth).tolist()
        self.blocks = nn.ModuleList(
            Block(dim, size.num_heads, size.mlp_ratio, rate, local_positional=conv)
            for rate in rates
        )
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.head = HeatmapHead(dim, size.head_channels, num_joints)
        self._init_backbone_weights()

    def _init_backbone_weights(self) -> None:
        if self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for name, module in self.named_modules():
            if name.startswith("head"):
                continue
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def token_grid(self, height: int, width: int) -> Grid:
        """Token grid ``(h, w)`` of an input image.

        Parameters
        ----------
        height, width : int
            Image size in pixels.

        Returns
        -------
        tuple of int
            ``((H + 2p - k) // k + 1, (W + 2p - k) // k + 1)`` for patch size ``k``
            and padding ``p``.

        Raises
        ------
        ValueError
            If the image is smaller than one patch.
        """
        patch, pad = self.size.patch_size, self.size.patch_padding
        grid = (
            (height + 2 * pad - patch) // patch + 1,
            (width + 2 * pad - patch) // patch + 1,
        )
        if height + 2 * pad < patch or width + 2 * pad < patch:
            smallest = patch - 2 * pad
            raise ValueError(
                f"image {height}×{width} is smaller than one patch; "
                f"both sides need at least {smallest} pixels"
            )
        return grid

    def heatmap_size(self, height: int, width: int) -> Grid:
        """Heatmap size ``(4h, 4w)`` for an input image of ``height × width``.

        Parameters
        ----------
        height, width : int
            Image size in pixels.

        Returns
        -------
        tuple of int
            Heatmap height and width.
        """
        grid_h, grid_w = self.token_grid(height, width)
        factor = self.head.upsample_factor
        return factor * grid_h, factor * grid_w

    def position_embedding(self, grid: Grid) -> Tensor:
        """Position embedding added to the tokens of a grid.

        Parameters
        ----------
        grid : tuple of int
            Token grid ``(h, w)``.

        Returns
        -------
        Tensor
            ``(1, h·w, dim)``: the GPE, or the absolute table resized to ``grid``
            (the table itself at the reference grid).
        """
        if self.gpe is not None:
            return self.gpe(grid)
        return interpolate_pos_embed(self.pos_embed, self.reference_grid, grid)

    def forward(self, images: Tensor) -> Tensor:
        """Predict heatmaps.

        Parameters
        ----------
        images : Tensor
            ``(B, 3, H, W)``.

        Returns
        -------
        Tensor
            ``(B, num_joints, 4h, 4w)`` for the token grid ``(h, w)``.

        Raises
        ------
        ValueError
            If ``images`` is not ``(B, 3, H, W)`` or is smaller than one patch.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}"
            )
        self.token_grid(images.shape[2], images.shape[3])
        tokens, grid = self.patch_embed(images)
        tokens = tokens + self.position_embedding(grid).to(tokens.dtype)
        for block in self.blocks:
            tokens = block(tokens, grid)
        features = _tokens_to_maps(self.norm(tokens), grid)
        return self.head(features)


def build_vitpose(
    name: str, positional: str = "conv", num_joints: int = 16, drop_path: float = 0.1
) -> ViTPose:
    """Build a ViTPose preset from :data:`VITPOSE_SIZES`.

    Parameters
    ----------
    name : str
        Preset name, e.g. ``"vitpose-tiny"`` or ``"vitpose-s"``.
    positional : {"conv", "absolute"}
        Position encoding (see :class:`ViTPose`).
    num_joints : int
        Number of heatmaps.
    drop_path : float
        Stochastic-depth rate of the last block.

    Returns
    -------
    ViTPose
        A freshly initialised model.

    Raises
    ------
    ValueError
        For an unknown preset or positional mode.
    """
    if name not in VITPOSE_SIZES:
        raise ValueError(
            f"unknown ViTPose size {name!r}; valid: {', '.join(VITPOSE_SIZES)}"
        )
    _check_positional(positional)
    return ViTPose(
        VITPOSE_SIZES[name],
        num_joints=num_joints,
        positional=positional,
        drop_path=drop_path,
    )


def _layer_id(name: str, depth: int) -> int:
    """Layer index for layer-wise LR decay (0 = embeddings, depth + 1 = top)."""
    if name.startswith(("patch_embed.", "gpe.")) or name == "pos_embed":
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def _trainable(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    return ((n, p) for n, p in model.named_parameters() if p.requires_grad)


def layer_decay_param_groups(
    model: ViTPose, lr: float, weight_decay: float, layer_decay: float
) -> list[dict]:
    """AdamW parameter groups with layer-wise learning-rate decay (MAE/ViTPose).

    Layer id 0 is the patch embedding and position embedding, ``i + 1`` is
    ``blocks[i]`` and ``depth + 1`` the final norm and the decoder; a group's LR
    scale is ``layer_decay ** (depth + 1 - layer_id)``. 1-D parameters (biases,
    norms) and ``pos_embed`` get no weight decay.

    Parameters
    ----------
    model : ViTPose
        Model whose trainable parameters are grouped (each exactly once).
    lr : float
        Base learning rate (that of the top layer).
    weight_decay : float
        Weight decay of the decayed groups.
    layer_decay : float
        Per-layer LR factor, e.g. 0.75.

    Returns
    -------
    list of dict
        Groups with keys "params", "lr" (``lr * lr_scale``), "weight_decay" and
        "lr_scale".
    """
    depth = len(model.blocks)
    groups: dict[tuple[int, bool], dict] = {}
    for name, parameter in _trainable(model):
        layer = _layer_id(name, depth)
        decayed = parameter.ndim > 1 and name != "pos_embed"
        if (layer, decayed) not in groups:
            scale = layer_decay ** (depth + 1 - layer)
            groups[(layer, decayed)] = {
                "params": [],
                "lr": lr * scale,
                "weight_decay": weight_decay if decayed else 0.0,
                "lr_scale": scale,
            }
        groups[(layer, decayed)]["params"].append(parameter)
    return [groups[key] for key in sorted(groups)]
