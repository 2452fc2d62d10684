"""Frame files shared by every task's data: listing, reading, naming, checks.

Videos are stored as folders of frame images (PNG or JPEG), decoded once from
compressed video by ``fedvideo prepare`` where needed. Every problem raises a
:class:`~fedvideo.data.errors.DatasetError` naming the file or folder.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from fedvideo.data.errors import DatasetError, require_int

__all__ = [
    "FRAME_SUFFIXES",
    "check_frame_indices",
    "format_size",
    "frame_file_name",
    "image_size",
    "list_frame_files",
    "read_frame",
    "verify_frame",
]

#: File suffixes (lower case) recognised as frames.
FRAME_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")


def format_size(size: tuple[int, int]) -> str:
    """Write a ``(height, width)`` size as ``"HxW"`` for error messages."""
    return f"{size[0]}x{size[1]}"


def frame_file_name(number: int) -> str:
    """Return the prepared name of frame ``number`` (1-based): ``img_00001.jpg``."""
    return f"img_{require_int(number, 'frame number', 1):05d}.jpg"


def check_frame_indices(
    name: str, indices: Sequence[int], num_frames: int
) -> list[int]:
    """Return ``indices`` as a list of ints, or raise naming the video."""
    checked = [int(i) for i in indices]
    for index in checked:
        if not 0 <= index < num_frames:
            raise DatasetError(
                f"video {name!r}: frame index {index} out of range "
                f"for a clip of {num_frames} frames"
            )
    return checked


def _natural_key(path: Path) -> list[int | str]:
    """Sort key that orders ``im2.png`` before ``im10.png``."""
    parts = re.split(r"(\d+)", path.name)
    return [int(part) if part.isdigit() else part for part in parts]


def list_frame_files(folder: Path) -> list[Path]:
    """List the frame images in ``folder``, sorted by name (numbers numerically).

    Raises
    ------
    DatasetError
        If the folder does not exist or holds no ``.png``/``.jpg`` files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"frame folder {folder} does not exist")
    files = [
        path
        for path in folder.iterdir()
        if path.suffix.lower() in FRAME_SUFFIXES and path.is_file()
    ]
    if not files:
        raise DatasetError(
            f"frame folder {folder} contains no frames "
            f"(expected image files ending in {', '.join(FRAME_SUFFIXES)})"
        )
    return sorted(files, key=_natural_key)


@contextlib.contextmanager
def _open_frame(path: Path) -> Iterator[Image.Image]:
    """Open a frame file with Pillow; any failure becomes a DatasetError naming it."""
    try:
        with Image.open(path) as image:
            yield image
    except (OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"cannot read frame file {path}: {err}") from err


def image_size(path: Path) -> tuple[int, int]:
    """Read only the header of an image file; return ``(height, width)``."""
    with _open_frame(path) as image:
        return image.height, image.width


def verify_frame(path: Path) -> tuple[int, int]:
    """Check that a frame file is intact without decoding it; return its size.

    Pillow reads the header and, for PNG, checks every chunk's CRC
    (``Image.verify``): a missing, truncated or corrupt file fails here, at a
    fraction of the cost of decoding it.

    Returns
    -------
    tuple[int, int]
        ``(height, width)``.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or corrupt; the message names it.
    """
    with _open_frame(path) as image:
        size = image.height, image.width
        image.verify()
    return size


def read_frame(path: Path) -> np.ndarray:
    """Read one frame with Pillow as uint8 RGB ``(height, width, 3)``.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or corrupt; the message names it.
    """
    with _open_frame(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
