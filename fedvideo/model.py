"""Flower baseline entry point for models; see :mod:`fedvideo.models`."""

from fedvideo.models import VSR_MODELS, build_vsr_model
from fedvideo.models.ctp import CtPHead, CtPModel
from fedvideo.models.r3d import R3DBackbone, load_r3d18_backbone, r3d18_classifier

__all__ = [
    "VSR_MODELS",
    "CtPHead",
    "CtPModel",
    "R3DBackbone",
    "build_vsr_model",
    "load_r3d18_backbone",
    "r3d18_classifier",
]
