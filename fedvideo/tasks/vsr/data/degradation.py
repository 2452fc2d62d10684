"""The "BI" degradation of the VSR literature: antialiased bicubic downsampling."""

from __future__ import annotations

import numpy as np
from PIL import Image

from fedvideo.data.errors import DatasetError

__all__ = ["bicubic_downsample"]


def bicubic_downsample(hr: np.ndarray, scale: int) -> np.ndarray:
    """Downsample uint8 frames by ``scale`` with antialiased bicubic filtering.

    This is the LR degradation of the synthetic dataset, MATLAB ``imresize`` /
    BasicSR style: each frame goes through Pillow's
    ``Image.resize((W // scale, H // scale), Image.Resampling.BICUBIC)``, whose
    bicubic kernel (``a = -0.5``) is stretched by ``scale`` (antialiasing) and
    whose output is rounded to uint8. It agrees with
    ``torch.nn.functional.interpolate(mode="bicubic", antialias=True,
    align_corners=False)`` on float values, rounded, to within one grey level
    almost everywhere (a few grey levels at clipped overshoots, as Pillow rounds
    and clips to uint8 between its horizontal and vertical passes). Pillow is
    used because it is much faster than torch for small frames on a busy CPU.

    Parameters
    ----------
    hr : np.ndarray
        uint8 frames ``(T, H, W, 3)``; ``H`` and ``W`` multiples of ``scale``.
    scale : int
        Downsampling factor.

    Returns
    -------
    np.ndarray
        uint8 frames ``(T, H // scale, W // scale, 3)``.

    Raises
    ------
    DatasetError
        If the frame size is not a multiple of ``scale`` or ``hr`` is not uint8
        RGB frames.
    """
    if hr.dtype != np.uint8 or hr.ndim != 4 or hr.shape[-1] != 3:
        raise DatasetError(
            f"bicubic_downsample needs uint8 frames (T, H, W, 3), got {hr.dtype} "
            f"{hr.shape}"
        )
    _, height, width, _ = hr.shape
    if scale < 1 or height % scale or width % scale:
        raise DatasetError(
            f"HR size {height}x{width} is not a multiple of scale {scale} (vsr.scale)"
        )
    size = (width // scale, height // scale)
    return np.stack(
        [
            np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BICUBIC))
            for frame in hr
        ]
    )
