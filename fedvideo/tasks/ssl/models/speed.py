"""Playback-speed (Speed) pretraining model: R3D-18 plus speed classifier.

Benaim et al., "SpeedNet: Learning the Speediness in Videos", CVPR 2020, in the
variant of microsoft/CtP's pyvrl (``SpeedNet``) whose federated models FedVSSL
published: a clip is sampled with one of the frame strides
:data:`SPEED_STRIDES` (a negative stride plays it backwards, 0 repeats one
frame) and the network classifies the stride. The head averages the
backbone's feature map, applies dropout and one linear layer. The backbone
keeps torchvision's standard strides.
"""

from __future__ import annotations

import torch
from torch import nn

from fedvideo.tasks.ssl.models.ctp import OFFICIAL_FC_INIT_STD
from fedvideo.tasks.ssl.models.r3d import R3DBackbone

__all__ = ["SPEED_STRIDES", "SpeedHead", "SpeedModel"]

#: Frame strides of the pyvrl SpeedNet variant; the class is the stride's index.
SPEED_STRIDES: tuple[int, ...] = (-4, -2, -1, 0, 1, 2, 4)


class SpeedHead(nn.Module):
    """Speed classification head: global average pool, dropout, linear.

    Parameters
    ----------
    num_classes : int
        Number of strides to tell apart.
    in_channels : int
        Channels of the backbone's feature map.
    dropout : float
        Dropout probability before the linear layer.
    fc_init_std : float
        Standard deviation of the linear layer's initial weights, by default
        :data:`OFFICIAL_FC_INIT_STD`; the bias starts at zero, so the first
        predictions are close to uniform (cross-entropy ≈ ln ``num_classes``).
    """

    def __init__(
        self,
        num_classes: int = len(SPEED_STRIDES),
        in_channels: int = 512,
        dropout: float = 0.5,
        fc_init_std: float = OFFICIAL_FC_INIT_STD,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"SpeedHead: num_classes must be >= 2, got {num_classes}")
        if fc_init_std <= 0:
            raise ValueError(f"SpeedHead: fc_init_std must be > 0, got {fc_init_std}")
        self.num_classes = num_classes
        self.fc_init_std = fc_init_std
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weights from N(0, ``fc_init_std``²); zero the bias."""
        nn.init.normal_(self.fc.weight, mean=0.0, std=self.fc_init_std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map a feature map ``(N, C, t, h, w)`` to logits ``(N, num_classes)``."""
        if features.dim() != 5:
            raise ValueError(
                f"Speed head expects features (N, C, t, h, w), got "
                f"{tuple(features.shape)}"
            )
        return self.fc(self.dropout(features.mean(dim=(2, 3, 4))))


class SpeedModel(nn.Module):
    """R3D-18 backbone (standard strides) with a speed classification head.

    The backbone's parameters are under ``backbone.`` and the head's under
    ``head.``, so federating only the backbone is a filter on the key prefix.

    Parameters
    ----------
    num_classes : int
        Number of strides, by default ``len(SPEED_STRIDES)`` (7).
    dropout : float
        Dropout probability in the head.
    """

    def __init__(
        self, num_classes: int = len(SPEED_STRIDES), dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.backbone = R3DBackbone(pretrain_stride=False)
        self.head = SpeedHead(
            num_classes=num_classes,
            in_channels=self.backbone.out_channels,
            dropout=dropout,
        )

    @property
    def num_classes(self) -> int:
        """Number of stride classes."""
        return self.head.num_classes

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Predict stride logits ``(N, num_classes)`` from clips ``(N, 3, T, H, W)``."""
        return self.head(self.backbone(clip))
