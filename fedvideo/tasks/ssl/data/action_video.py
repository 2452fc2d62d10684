"""Labelled action videos (RGB frames only), in memory or as frame folders.

An :class:`ActionVideo` is the unit of the self-supervised (``ssl``) and action
recognition data: a named, labelled clip of ``num_frames`` RGB frames of one
size. Only the frames asked for are loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from fedvideo.data.errors import DatasetError
from fedvideo.data.frames import (
    check_frame_indices,
    format_size,
    image_size,
    list_frame_files,
    read_frame,
    verify_frame,
)

__all__ = [
    "ActionVideo",
    "FrameFolderActionVideo",
    "InMemoryActionVideo",
]


@runtime_checkable
class ActionVideo(Protocol):
    """A named, labelled clip of RGB frames.

    Attributes
    ----------
    name : str
        Unique name within its dataset, ``"<class>/<video>"``.
    label : int
        Class index (position of the class in the dataset's class list).
    num_frames : int
        Number of frames.
    frame_size : tuple[int, int]
        Frame size ``(height, width)``.
    """

    @property
    def name(self) -> str:
        """Name of the clip."""
        ...

    @property
    def label(self) -> int:
        """Class index."""
        ...

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        ...

    @property
    def frame_size(self) -> tuple[int, int]:
        """Frame size ``(height, width)``."""
        ...

    def read_frames(self, indices: Sequence[int]) -> np.ndarray:
        """Load the frames at ``indices``.

        Returns
        -------
        np.ndarray
            uint8 RGB frames ``(len(indices), height, width, 3)``.
        """
        ...

    def verify(self) -> None:
        """Check cheaply that every frame can be read (raise DatasetError if not)."""
        ...


def _check_label(name: str, label: object) -> int:
    """Return ``label`` as an int >= 0, or raise naming the video."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise DatasetError(f"video {name!r}: label must be an integer, got {label!r}")
    if label < 0:
        raise DatasetError(f"video {name!r}: label must be >= 0, got {label}")
    return int(label)


class InMemoryActionVideo:
    """A labelled clip held as one uint8 array (used for the synthetic dataset).

    Parameters
    ----------
    name : str
        Name of the clip, ``"<class>/<video>"``.
    label : int
        Class index (>= 0).
    frames : np.ndarray
        uint8 RGB frames ``(T, H, W, 3)`` with ``T >= 1``; a read-only copy is
        kept.

    Raises
    ------
    DatasetError
        If the label is not a non-negative integer or ``frames`` has the wrong
        dtype or shape; the message names the video.
    """

    def __init__(self, name: str, label: int, frames: np.ndarray) -> None:
        self._name = str(name)
        self._label = _check_label(self._name, label)
        array = np.asarray(frames)
        if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
            raise DatasetError(
                f"video {self._name!r}: frames must be a uint8 array of shape "
                f"(T, height, width, 3), got {array.dtype} {array.shape}"
            )
        if min(array.shape[:3]) < 1:
            raise DatasetError(
                f"video {self._name!r} has no frames or empty frames, shape "
                f"{array.shape}"
            )
        self._frames = array.copy()
        self._frames.flags.writeable = False

    @property
    def name(self) -> str:
        """Name of the clip."""
        return self._name

    @property
    def label(self) -> int:
        """Class index."""
        return self._label

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self._frames.shape[0])

    @property
    def frame_size(self) -> tuple[int, int]:
        """Frame size ``(height, width)``."""
        return int(self._frames.shape[1]), int(self._frames.shape[2])

    @property
    def frames(self) -> np.ndarray:
        """All frames (read-only)."""
        return self._frames

    def read_frames(self, indices: Sequence[int]) -> np.ndarray:
        """Copy the frames at ``indices``; see :meth:`ActionVideo.read_frames`.

        Raises
        ------
        DatasetError
            If an index is out of range; the message names the video.
        """
        checked = check_frame_indices(self._name, indices, self.num_frames)
        return self._frames[checked].copy()

    def verify(self) -> None:
        """Nothing to check: the array was validated on construction."""

    def __repr__(self) -> str:
        return (
            f"InMemoryActionVideo(name={self._name!r}, label={self._label}, "
            f"num_frames={self.num_frames}, frame_size={self.frame_size})"
        )


class FrameFolderActionVideo:
    """A labelled clip stored as a folder of frame images.

    Frames are the ``.jpg``/``.jpeg``/``.png`` files of ``folder`` (prepared
    datasets name them ``img_00001.jpg``, ...), sorted by name with numbers
    compared numerically. Construction touches no file: the folder is listed on
    the first use of :attr:`num_frames`, :attr:`frame_size` or
    :meth:`read_frames`, and only the first frame's header is read for the size.

    Parameters
    ----------
    name : str
        Name of the clip, ``"<class>/<video>"``.
    label : int
        Class index (>= 0).
    folder : str or Path
        The frame folder.

    Raises
    ------
    DatasetError
        If the label is invalid (at construction); if the folder is missing or
        holds no frames (naming the folder, on first use).
    """

    def __init__(self, name: str, label: int, folder: str | Path) -> None:
        self._name = str(name)
        self._label = _check_label(self._name, label)
        self.folder = Path(folder)
        self._files: list[Path] | None = None
        self._size: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        """Name of the clip."""
        return self._name

    @property
    def label(self) -> int:
        """Class index."""
        return self._label

    @property
    def files(self) -> list[Path]:
        """The frame files, in frame order (listed once, on first use)."""
        if self._files is None:
            self._files = list_frame_files(self.folder)
        return self._files

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return len(self.files)

    @property
    def frame_size(self) -> tuple[int, int]:
        """Frame size ``(height, width)`` of the first frame."""
        if self._size is None:
            self._size = image_size(self.files[0])
        return self._size

    def read_frames(self, indices: Sequence[int]) -> np.ndarray:
        """Read the frames at ``indices``; see :meth:`ActionVideo.read_frames`.

        Raises
        ------
        DatasetError
            If an index is out of range (naming the video), or a frame file is
            unreadable, corrupt or of another size than the first frame (naming
            the file).
        """
        checked = check_frame_indices(self._name, indices, self.num_frames)
        frames = []
        for index in checked:
            path = self.files[index]
            frame = read_frame(path)
            if frame.shape[:2] != self.frame_size:
                raise DatasetError(
                    f"frame {path} is {format_size(frame.shape[:2])} but the "
                    f"clip's first frame {self.files[0]} is "
                    f"{format_size(self.frame_size)} (height x width)"
                )
            frames.append(frame)
        if not frames:
            height, width = self.frame_size
            return np.empty((0, height, width, 3), dtype=np.uint8)
        return np.stack(frames)

    def verify(self) -> None:
        """Check every frame file's integrity and size without decoding it.

        Raises
        ------
        DatasetError
            If the folder holds no frames, or a file is missing, truncated or
            corrupt, or of another size than the first frame (naming the file).
        """
        for path in self.files:
            size = verify_frame(path)
            if size != self.frame_size:
                raise DatasetError(
                    f"frame {path} is {format_size(size)} but the clip's first "
                    f"frame {self.files[0]} is {format_size(self.frame_size)} "
                    "(height x width)"
                )

    def __repr__(self) -> str:
        return (
            f"FrameFolderActionVideo(name={self._name!r}, label={self._label}, "
            f"folder='{self.folder}')"
        )
