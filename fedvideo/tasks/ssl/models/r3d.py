"""R3D-18 video backbone (torchvision's ``r3d_18``) for self-supervised pretraining.

The backbone keeps torchvision's module names, so its ``state_dict`` loads into
``torchvision.models.video.r3d_18()`` with only ``fc.*`` missing. For Catch-the-
Patch pretraining, layer4 keeps its temporal stride but drops the spatial one: a
16×112×112 clip then gives a 512×2×14×14 map (stride 8) instead of 2×7×7. Strides
hold no weights, so the weights are the same either way.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torchvision.models.video import VideoResNet, r3d_18

__all__ = [
    "R3DBackbone",
    "load_r3d18_backbone",
    "r3d18_classifier",
]

FEATURE_DIM = 512


def _set_layer4_spatial_stride(network: nn.Module, stride: int) -> None:
    """Set the spatial stride of layer4's first block (conv and shortcut)."""
    block = network.layer4[0]
    for conv in (block.conv1[0], block.downsample[0]):
        conv.stride = (conv.stride[0], stride, stride)


class R3DBackbone(nn.Module):
    """The convolutional part of torchvision's R3D-18 (stem and layers 1–4).

    Parameters
    ----------
    pretrain_stride : bool
        Drop layer4's spatial stride (CtP pretraining): output stride 8 instead
        of 16 in space; the time stride is unchanged (8).
    """

    def __init__(self, pretrain_stride: bool = True) -> None:
        super().__init__()
        network = r3d_18(weights=None)
        if pretrain_stride:
            _set_layer4_spatial_stride(network, 1)
        self.stem = network.stem
        self.layer1 = network.layer1
        self.layer2 = network.layer2
        self.layer3 = network.layer3
        self.layer4 = network.layer4
        self.out_channels = FEATURE_DIM

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Map clips ``(N, 3, T, H, W)`` to features ``(N, 512, T/8, H/s, W/s)``."""
        x = self.stem(clips)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)


def r3d18_classifier(num_classes: int, dropout: float = 0.0) -> VideoResNet:
    """Build torchvision's R3D-18 (standard strides) with a new ``num_classes`` head.

    ``dropout`` > 0 puts a dropout layer before the final linear layer (the
    fine-tuning protocol uses 0.5).
    """
    network = r3d_18(weights=None, num_classes=num_classes)
    if dropout > 0:
        network.fc = nn.Sequential(nn.Dropout(dropout), network.fc)
    return network


def load_r3d18_backbone(
    network: VideoResNet, backbone_state: Mapping[str, torch.Tensor]
) -> None:
    """Load an exported backbone into a torchvision R3D-18, leaving ``fc`` as is.

    Raises
    ------
    ValueError
        If the state misses backbone tensors or holds unexpected ones.
    """
    result = network.load_state_dict(dict(backbone_state), strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("fc.")]
    if missing or result.unexpected_keys:
        raise ValueError(
            "not an R3D-18 backbone state: "
            f"missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
