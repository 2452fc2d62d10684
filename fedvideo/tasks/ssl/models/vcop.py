"""Video Clip Order Prediction (VCOP) pretraining model: R3D-18 plus order head.

Xu et al., "Self-supervised Spatiotemporal Learning via Video Clip Order
Prediction", CVPR 2019. A tuple of ``K`` clips (3 in the paper and in FedVSSL)
is shuffled and the network predicts which of the ``K!`` permutations was
applied. Every clip goes through the same backbone; the head pools each clip's
feature map to a vector, maps every pair of clips ``(i, j)``, ``i < j``, to a
shared 512-d relation vector and classifies the concatenated pair vectors.
The backbone keeps torchvision's standard strides (FedVSSL's VCOP configs).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from fedvideo.tasks.ssl.models.ctp import OFFICIAL_FC_INIT_STD
from fedvideo.tasks.ssl.models.r3d import R3DBackbone

__all__ = ["VCOPHead", "VCOPModel"]


class VCOPHead(nn.Module):
    """Clip-order classification head.

    Parameters
    ----------
    num_clips : int
        Clips per tuple ``K`` (>= 2); the head predicts ``K!`` classes.
    in_channels : int
        Channels of the backbone's feature map.
    hidden : int
        Width of the pairwise relation layer.
    dropout : float
        Dropout probability after the pairwise layer's ReLU.
    fc_init_std : float
        Standard deviation of the last linear layer's initial weights, by
        default :data:`OFFICIAL_FC_INIT_STD`.

    Notes
    -----
    Initialised as in FedVSSL's VCOP: the pairwise layer with Kaiming-normal
    weights (fan-out, ReLU gain), the classifier with N(0, 0.001²) weights,
    both biases zero. The first predictions are therefore close to uniform
    (cross-entropy ≈ ln K!).
    """

    def __init__(
        self,
        num_clips: int = 3,
        in_channels: int = 512,
        hidden: int = 512,
        dropout: float = 0.5,
        fc_init_std: float = OFFICIAL_FC_INIT_STD,
    ) -> None:
        super().__init__()
        if num_clips < 2:
            raise ValueError(f"VCOPHead: num_clips must be >= 2, got {num_clips}")
        if fc_init_std <= 0:
            raise ValueError(f"VCOPHead: fc_init_std must be > 0, got {fc_init_std}")
        self.num_clips = num_clips
        self.num_classes = math.factorial(num_clips)
        self.fc_init_std = fc_init_std
        self.pairs = tuple(itertools.combinations(range(num_clips), 2))
        self.pair_fc = nn.Linear(2 * in_channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden * len(self.pairs), self.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the layers as FedVSSL's VCOP head does (see Notes)."""
        nn.init.kaiming_normal_(
            self.pair_fc.weight, mode="fan_out", nonlinearity="relu"
        )
        nn.init.zeros_(self.pair_fc.bias)
        nn.init.normal_(self.fc.weight, mean=0.0, std=self.fc_init_std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Predict permutation logits ``(N, K!)``.

        Parameters
        ----------
        features : Tensor
            Backbone maps of the tuple's clips, ``(N, K, C, t, h, w)``, in the
            order the clips were fed.
        """
        if features.dim() != 6 or features.shape[1] != self.num_clips:
            raise ValueError(
                f"VCOP head expects features (N, {self.num_clips}, C, t, h, w), "
                f"got {tuple(features.shape)}"
            )
        pooled = features.mean(dim=(3, 4, 5))  # (N, K, C)
        relations = [
            self.dropout(
                self.relu(self.pair_fc(torch.cat([pooled[:, i], pooled[:, j]], 1)))
            )
            for i, j in self.pairs
        ]
        return self.fc(torch.cat(relations, dim=1))


class VCOPModel(nn.Module):
    """R3D-18 backbone (standard strides) with a VCOP clip-order head.

    The backbone's parameters are under ``backbone.`` and the head's under
    ``head.``, so federating only the backbone is a filter on the key prefix.

    Parameters
    ----------
    num_clips : int
        Clips per tuple ``K``; the model predicts ``K!`` classes.
    dropout : float
        Dropout probability in the head.
    """

    def __init__(self, num_clips: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = R3DBackbone(pretrain_stride=False)
        self.head = VCOPHead(
            num_clips=num_clips, in_channels=self.backbone.out_channels, dropout=dropout
        )

    @property
    def num_classes(self) -> int:
        """Number of permutations ``K!``."""
        return self.head.num_classes

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Predict permutation logits ``(N, K!)`` from shuffled clips.

        Parameters
        ----------
        clips : Tensor
            ``(N, K, 3, T, H, W)``: ``K`` clips per tuple; they go through the
            backbone as one batch of ``N·K`` clips.
        """
        if clips.dim() != 6:
            raise ValueError(
                f"VCOPModel expects clips (N, K, 3, T, H, W), got {tuple(clips.shape)}"
            )
        num_tuples, num_clips = clips.shape[:2]
        features = self.backbone(clips.flatten(0, 1))
        return self.head(features.view(num_tuples, num_clips, *features.shape[1:]))
