"""BasicVSR (Chan et al., CVPR 2021): bidirectional recurrent video super-resolution.

Module names follow BasicSR's ``BasicVSR`` (``spynet``, ``backward_trunk``,
``forward_trunk``, ``fusion``, ``upconv1``, ``upconv2``, ``conv_hr``,
``conv_last``).
"""

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .spynet import SpyNet, bidirectional_flows
from .warp import flow_warp

__all__ = [
    "BASE_UPSAMPLING_MODES",
    "BasicVSR",
    "PixelShuffleHead",
    "ResidualBlockNoBN",
    "ResidualBlocksWithInputConv",
    "basicvsr",
    "basicvsr_small",
    "basicvsr_tiny",
    "check_base_upsampling",
    "upsampled_base",
    "zero_residual_output_",
]

SUPPORTED_SCALES = (2, 4)

#: Interpolations of the LR frame that a model's output is added to.
BASE_UPSAMPLING_MODES = ("bilinear", "bicubic")


def check_base_upsampling(mode: str) -> None:
    """Raise ValueError unless ``mode`` is one of :data:`BASE_UPSAMPLING_MODES`."""
    if mode not in BASE_UPSAMPLING_MODES:
        raise ValueError(
            f"base_upsampling must be 'bilinear' or 'bicubic', got {mode!r}"
        )


def upsampled_base(lr: Tensor, scale: int, mode: str) -> Tensor:
    """Upsample LR frames (N, 3, h, w) by ``scale``: the residual base of a model."""
    return F.interpolate(lr, scale_factor=scale, mode=mode, align_corners=False)


def zero_residual_output_(conv: nn.Conv2d) -> None:
    """Zero the last layer of a residual branch, so that the branch starts at 0.

    Every bundled VSR model adds its residual branch to the upsampled LR frame;
    with this layer at zero a fresh model outputs exactly the upsampling
    (bicubic or bilinear), and training can only move away from it by
    learning. Its gradient is not zero, so the layer leaves zero at the first
    step and the rest of the branch receives gradients from the second on.
    """
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class ResidualBlockNoBN(nn.Module):
    """Residual block without batch norm: ``x + conv2(relu(conv1(x)))``.

    Both convolutions are 3×3 and initialised with Kaiming-normal weights scaled
    by 0.1 and zero biases, so a fresh block is close to the identity.

    Parameters
    ----------
    num_feat : int, optional
        Channels in and out.
    """

    def __init__(self, num_feat: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight)
            with torch.no_grad():
                conv.weight.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block, (N, F, H, W) → (N, F, H, W)."""
        return x + self.conv2(self.relu(self.conv1(x)))


class PixelShuffleHead:
    """BasicSR's pixel-shuffle reconstruction, shared by BasicVSR and EDVR.

    A mixin for an ``nn.Module`` with ``scale`` and ``base_upsampling``
    attributes: :meth:`_build_pixel_shuffle_head` creates ``upconv1``,
    ``upconv2`` (scale 4 only), ``pixel_shuffle``, ``conv_hr``, ``conv_last``
    and ``lrelu`` on the model itself, so the state-dict keys stay BasicSR's.
    """

    scale: int
    base_upsampling: str

    def _build_pixel_shuffle_head(
        self, num_feat: int, upsample_feat: int, scale: int
    ) -> None:
        """Create the layers: one (×2) or two (×4) pixel-shuffle stages."""
        self.upconv2: nn.Conv2d | None
        if scale == 4:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.upconv2 = nn.Conv2d(num_feat, upsample_feat * 4, 3, 1, 1)
        else:
            self.upconv1 = nn.Conv2d(num_feat, upsample_feat * 4, 3, 1, 1)
            self.upconv2 = None
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(upsample_feat, upsample_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(upsample_feat, 3, 3, 1, 1)
        zero_residual_output_(self.conv_last)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def _pixel_shuffle_head(self, x: Tensor, lr: Tensor) -> Tensor:
        """Upsample features (N, F, h, w) and add the upsampled LR frames."""
        x = self.lrelu(self.pixel_shuffle(self.upconv1(x)))
        if self.upconv2 is not None:
            x = self.lrelu(self.pixel_shuffle(self.upconv2(x)))
        x = self.lrelu(self.conv_hr(x))
        x = self.conv_last(x)
        return x + upsampled_base(lr, self.scale, self.base_upsampling)


class ResidualBlocksWithInputConv(nn.Module):
    """A 3×3 input convolution with LeakyReLU(0.1), then residual blocks.

    Parameters
    ----------
    in_channels : int
        Input channels.
    num_feat : int, optional
        Output (and internal) channels.
    num_blocks : int, optional
        Number of :class:`ResidualBlockNoBN`.
    """

    def __init__(self, in_channels: int, num_feat: int = 64, num_blocks: int = 30):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, num_feat, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Sequential(*(ResidualBlockNoBN(num_feat) for _ in range(num_blocks))),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the blocks, (N, C_in, H, W) → (N, F, H, W)."""
        return self.main(x)


class BasicVSR(PixelShuffleHead, nn.Module):
    """BasicVSR: SpyNet-aligned bidirectional propagation and pixel-shuffle upsampling.

    Maps a low-resolution clip (B, T, 3, h, w) with values in [0, 1] to
    (B, T, 3, scale·h, scale·w). Any h, w and T >= 1 work.

    Parameters
    ----------
    num_feat : int, optional
        Channels of the propagated features (64 published).
    num_blocks : int, optional
        Residual blocks in each propagation branch (30 published).
    spynet_width : float, optional
        Width multiplier of SpyNet's hidden channels (1.0 published).
    spynet_levels : int, optional
        SpyNet pyramid levels (6 published).
    scale : int, optional
        Upsampling factor: 4 (two pixel-shuffle stages, published) or 2 (one).
    upsample_feat : int, optional
        Channels of the last pixel-shuffle output and of ``conv_hr`` (64
        published; lower it with ``num_feat`` for small variants, since these
        layers run at the high resolution).
    base_upsampling : str, optional
        Interpolation of the LR frame that the network's output is added to:
        ``"bilinear"`` (published) or ``"bicubic"``. Small models trained
        briefly reach a given quality sooner from the bicubic base, which is
        already the usual reference the model must beat.

    Notes
    -----
    Flows between all neighbouring frames, in both directions, are computed in a
    single batched SpyNet call. Propagation is sequential over frames; the
    fusion and upsampling run batched over several frames at a time, at most
    ``recon_chunk_pixels`` low-resolution pixels (B·frames·h·w) per call, which
    keeps inference on long clips within memory. On the CPU the activations are
    kept channels-last, which makes the oneDNN convolutions markedly faster; the
    output is always a contiguous tensor.
    """

    #: Upper bound on B·frames·h·w per batched reconstruction call.
    recon_chunk_pixels: int = 2**16

    def __init__(
        self,
        num_feat: int = 64,
        num_blocks: int = 30,
        spynet_width: float = 1.0,
        spynet_levels: int = 6,
        scale: int = 4,
        upsample_feat: int = 64,
        base_upsampling: str = "bilinear",
    ) -> None:
        super().__init__()
        if scale not in SUPPORTED_SCALES:
            raise ValueError(
                f"BasicVSR supports scale {' or '.join(map(str, SUPPORTED_SCALES))}, "
                f"got {scale}"
            )
        if num_feat < 1 or upsample_feat < 1 or num_blocks < 0:
            raise ValueError(
                "num_feat and upsample_feat must be >= 1 and num_blocks >= 0, got "
                f"{num_feat}, {upsample_feat}, {num_blocks}"
            )
        check_base_upsampling(base_upsampling)
        self.num_feat = num_feat
        self.scale = scale
        self.base_upsampling = base_upsampling

        self.spynet = SpyNet(num_levels=spynet_levels, width=spynet_width)
        self.backward_trunk = ResidualBlocksWithInputConv(
            num_feat + 3, num_feat, num_blocks
        )
        self.forward_trunk = ResidualBlocksWithInputConv(
            num_feat + 3, num_feat, num_blocks
        )
        self.fusion = nn.Conv2d(2 * num_feat, num_feat, 1, 1, 0)
        self._build_pixel_shuffle_head(num_feat, upsample_feat, scale)

    @staticmethod
    def _memory_format(x: Tensor) -> torch.memory_format:
        """Channels-last on the CPU, where oneDNN convolutions run faster in it."""
        if x.device.type == "cpu":
            return torch.channels_last
        return torch.contiguous_format

    def compute_flows(self, lrs: Tensor) -> tuple[Tensor, Tensor]:
        """Flows between neighbouring frames, both directions, one SpyNet call.

        See :func:`~fedvideo.tasks.vsr.models.spynet.bidirectional_flows`; channels-last
        on the CPU.
        """
        return bidirectional_flows(self.spynet, lrs, self._memory_format(lrs))

    def _reconstruct(self, feat: Tensor, lr: Tensor) -> Tensor:
        """Fuse both branches and upsample: (N, 2F, h, w), (N, 3, h, w) → HR."""
        return self._pixel_shuffle_head(self.lrelu(self.fusion(feat)), lr)

    def forward(self, lrs: Tensor) -> Tensor:
        """Super-resolve a clip.

        Parameters
        ----------
        lrs : Tensor
            Low-resolution frames in [0, 1], shape (B, T, 3, h, w).

        Returns
        -------
        Tensor
            Super-resolved frames, shape (B, T, 3, scale·h, scale·w).
        """
        if lrs.dim() != 5 or lrs.size(2) != 3:
            raise ValueError(
                f"BasicVSR expects (B, T, 3, h, w) input, got {tuple(lrs.shape)}"
            )
        b, t, _, h, w = lrs.shape
        fmt = self._memory_format(lrs)
        frames = [f.contiguous(memory_format=fmt) for f in lrs.unbind(1)]
        if t > 1:
            flows_forward, flows_backward = self.compute_flows(lrs)

        # Backward branch: last frame to first.
        feat = lrs.new_zeros(b, self.num_feat, h, w).contiguous(memory_format=fmt)
        backward_feats: list[Tensor | None] = [None] * t
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat = flow_warp(feat, flows_backward[:, i])
            x = torch.cat((frames[i], feat), 1).contiguous(memory_format=fmt)
            feat = self.backward_trunk(x)
            backward_feats[i] = feat

        # Forward branch, with fusion and upsampling of chunks of frames.
        chunk = max(1, self.recon_chunk_pixels // (b * h * w))
        feat = torch.zeros_like(feat)
        pending: list[Tensor] = []
        outputs: list[Tensor] = []
        for i in range(t):
            if i > 0:
                feat = flow_warp(feat, flows_forward[:, i - 1])
            x = torch.cat((frames[i], feat), 1).contiguous(memory_format=fmt)
            feat = self.forward_trunk(x)
            back = backward_feats[i]
            assert back is not None
            backward_feats[i] = None  # free it as soon as it is used
            pending.append(torch.cat((back, feat), 1))
            if len(pending) == chunk or i == t - 1:
                first = i + 1 - len(pending)
                lr = lrs[:, first : i + 1].transpose(0, 1).reshape(-1, 3, h, w)
                x = torch.cat(pending).contiguous(memory_format=fmt)
                out = self._reconstruct(x, lr)
                outputs.append(out.reshape(len(pending), b, 3, *out.shape[-2:]))
                pending = []
        return torch.cat(outputs).transpose(0, 1).contiguous()


def basicvsr_tiny(**kwargs: Any) -> BasicVSR:
    """Build a CPU-friendly BasicVSR for 16×16 to 32×32 LR crops.

    32 features, 4 blocks per branch, 16 channels in the high-resolution layers,
    a 3-level SpyNet at width 0.25 (hidden channels 8, 16, 8, 4), and the
    bicubic-upsampled frame as the residual base.

    Parameters
    ----------
    **kwargs : Any
        Overrides of the :class:`BasicVSR` arguments, e.g. ``scale=2``.

    Returns
    -------
    BasicVSR
        The model.
    """
    config: dict[str, Any] = {
        "num_feat": 32,
        "num_blocks": 4,
        "spynet_width": 0.25,
        "spynet_levels": 3,
        "upsample_feat": 16,
        "base_upsampling": "bicubic",
    }
    return BasicVSR(**(config | kwargs))


def basicvsr_small(**kwargs: Any) -> BasicVSR:
    """Build a BasicVSR with 32 features, 8 blocks and the full SpyNet.

    Parameters
    ----------
    **kwargs : Any
        Overrides of the :class:`BasicVSR` arguments, e.g. ``scale=2``.

    Returns
    -------
    BasicVSR
        The model.
    """
    config: dict[str, Any] = {"num_feat": 32, "num_blocks": 8, "upsample_feat": 32}
    return BasicVSR(**(config | kwargs))


def basicvsr(**kwargs: Any) -> BasicVSR:
    """Build the published BasicVSR: 64 features, 30 blocks, full SpyNet (6.3 M).

    Parameters
    ----------
    **kwargs : Any
        Overrides of the :class:`BasicVSR` arguments, e.g. ``scale=2``.

    Returns
    -------
    BasicVSR
        The model.
    """
    return BasicVSR(**kwargs)
