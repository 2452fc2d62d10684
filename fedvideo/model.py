"""Flower baseline entry point for models; see :mod:`fedvideo.models`."""

from fedvideo.models import VSR_MODELS, build_vsr_model
from fedvideo.models.ctp import CtPHead, CtPModel
from fedvideo.models.r3d import R3DBackbone, load_r3d18_backbone, r3d18_classifier
from fedvideo.models.vit_weights import load_backbone_weights
from fedvideo.models.vitpose import (
    VITPOSE_SIZES,
    ViTPose,
    build_vitpose,
)

__all__ = [
    "VITPOSE_SIZES",
    "VSR_MODELS",
    "CtPHead",
    "CtPModel",
    "R3DBackbone",
    "ViTPose",
    "build_vitpose",
    "build_vsr_model",
    "load_backbone_weights",
    "load_r3d18_backbone",
    "r3d18_classifier",
]
