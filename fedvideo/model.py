"""Flower baseline entry point for models; see :mod:`fedvideo.models`."""

from fedvideo.models import VSR_MODELS, build_vsr_model

__all__ = ["VSR_MODELS", "build_vsr_model"]
