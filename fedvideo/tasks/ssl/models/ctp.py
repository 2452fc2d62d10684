"""Catch-the-Patch (CtP) pretraining model: R3D-18 backbone plus trajectory head.

Wang et al., "Unsupervised Visual Representation Learning by Tracking Patches in
Video", CVPR 2021. The head collapses the backbone's two remaining time steps
with a (2, 1, 1) convolution, pools every pasted patch's frame-0 box with
RoIAlign and regresses the patch's box on every frame as deltas from that box.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import roi_align

from fedvideo.tasks.ssl.models.r3d import R3DBackbone

__all__ = ["FEATURE_STRIDE", "OFFICIAL_FC_INIT_STD", "CtPHead", "CtPModel"]

#: Standard deviation of the official heads' initial linear weights (CtP's two
#: fc layers; the last layer of VCOP and Speed too).
OFFICIAL_FC_INIT_STD = 0.001

#: Spatial stride of the pretraining backbone's map (input pixels per cell).
FEATURE_STRIDE = 8


class CtPHead(nn.Module):
    """Trajectory regression head.

    Parameters
    ----------
    num_frames : int
        Frames of the input clip; the head predicts 4 deltas per frame.
    in_channels : int
        Channels of the backbone's feature map.
    hidden : int
        Width of the temporal convolution and of the first linear layer.
    roi_size : int
        RoIAlign output size (5×5).
    fc_init_std : float
        Standard deviation of the linear layers' initial weights, by default
        :data:`OFFICIAL_FC_INIT_STD`.

    Notes
    -----
    Initialised as the official head (``CtPHead.init_weights`` of
    microsoft/CtP): the temporal convolution with Kaiming-normal weights
    (fan-out, ReLU gain), both linear layers with N(0, 0.001²) weights, all
    biases zero. The first predictions are therefore all close to zero: the
    "no motion" guess. ``fc_init_std`` changes only the linear layers' scale;
    on 2 CPU cores 0.01 learned no more than the official value
    (docs/fedvssl.md).
    """

    def __init__(
        self,
        num_frames: int = 16,
        in_channels: int = 512,
        hidden: int = 512,
        roi_size: int = 5,
        fc_init_std: float = OFFICIAL_FC_INIT_STD,
    ) -> None:
        super().__init__()
        if fc_init_std <= 0:
            raise ValueError(f"CtPHead: fc_init_std must be > 0, got {fc_init_std}")
        self.num_frames = num_frames
        self.fc_init_std = fc_init_std
        self.roi_size = roi_size
        self.temporal = nn.Conv3d(in_channels, hidden, kernel_size=(2, 1, 1))
        self.fc1 = nn.Linear(hidden * roi_size * roi_size, hidden)
        self.fc2 = nn.Linear(hidden, num_frames * 4)
        self.relu = nn.ReLU(inplace=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the layers as the official CtP head does (see Notes)."""
        nn.init.kaiming_normal_(
            self.temporal.weight, mode="fan_out", nonlinearity="relu"
        )
        nn.init.zeros_(self.temporal.bias)
        for layer in (self.fc1, self.fc2):
            nn.init.normal_(layer.weight, mean=0.0, std=self.fc_init_std)
            nn.init.zeros_(layer.bias)

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """Predict box deltas ``(N, P, T, 4)`` for ``P`` boxes per clip.

        Parameters
        ----------
        features : Tensor
            Backbone map ``(N, C, t, h, w)`` with ``t >= 2``.
        rois : Tensor
            Frame-0 boxes ``(N, P, 4)`` as x1, y1, x2, y2 in input pixels;
            cell ``i`` of the map sits at input pixels ``[8 i, 8 i + 8)``
            (:data:`FEATURE_STRIDE`), whatever the crop size.
        """
        if features.shape[2] < 2:
            raise ValueError(
                f"CtP head needs >= 2 time steps in the feature map, got "
                f"{features.shape[2]} (use 16-frame clips)"
            )
        x = self.relu(self.temporal(features)).mean(dim=2)  # (N, C, h, w)
        num_clips, num_boxes = rois.shape[:2]
        boxes = [r.to(x.dtype) for r in rois]
        pooled = roi_align(
            x,
            boxes,
            output_size=self.roi_size,
            spatial_scale=1.0 / FEATURE_STRIDE,
            sampling_ratio=2,
            aligned=True,
        )
        hidden = self.relu(self.fc1(pooled.flatten(1)))
        deltas = self.fc2(hidden)
        return deltas.view(num_clips, num_boxes, self.num_frames, 4)


class CtPModel(nn.Module):
    """R3D-18 backbone (pretraining strides) with a CtP trajectory head.

    The backbone's parameters are under ``backbone.`` and the head's under
    ``head.``, so federating only the backbone is a filter on the key prefix.
    ``head_init_std`` is the head's ``fc_init_std`` (official: 0.001).
    """

    def __init__(
        self, num_frames: int = 16, head_init_std: float = OFFICIAL_FC_INIT_STD
    ) -> None:
        super().__init__()
        self.backbone = R3DBackbone(pretrain_stride=True)
        self.head = CtPHead(
            num_frames=num_frames, in_channels=512, fc_init_std=head_init_std
        )

    def forward(self, clips: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """Predict box deltas ``(N, P, T, 4)`` from clips and frame-0 boxes."""
        features = self.backbone(clips)
        return self.head(features, rois)
