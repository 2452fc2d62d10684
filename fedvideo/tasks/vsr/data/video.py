"""Paired low-/high-resolution video clips, in memory or as frame folders.

A :class:`Video` is the unit that the VSR datasets, the partitioners and the
evaluation work with: a named clip of ``num_frames`` RGB frames, available as a
low-resolution (LR) and a high-resolution (HR) version whose sizes differ by an
integer ``scale``. Only the frames asked for are loaded.
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

__all__ = ["FrameFolderVideo", "InMemoryVideo", "Video", "VideoWrapper"]


@runtime_checkable
class Video(Protocol):
    """A named clip with paired LR and HR frames.

    Attributes
    ----------
    name : str
        Unique name within its dataset (a REDS clip is named like ``"001"``).
    num_frames : int
        Number of frames (the same for LR and HR).
    lr_size : tuple[int, int]
        LR frame size ``(h, w)``.
    hr_size : tuple[int, int]
        HR frame size ``(H, W)`` = ``scale * (h, w)``.
    """

    @property
    def name(self) -> str:
        """Name of the clip."""
        ...

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        ...

    @property
    def lr_size(self) -> tuple[int, int]:
        """LR frame size ``(h, w)``."""
        ...

    @property
    def hr_size(self) -> tuple[int, int]:
        """HR frame size ``(H, W)``."""
        ...

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Load the frames at ``indices``.

        Returns
        -------
        tuple[np.ndarray, np.ndarray]
            LR frames, uint8 ``(T, h, w, 3)``, and HR frames, uint8
            ``(T, H, W, 3)``, with ``T = len(indices)``.
        """
        ...

    def verify(self) -> None:
        """Check cheaply that every frame can be loaded (raise DatasetError if not)."""
        ...


class VideoWrapper:
    """A :class:`Video` that wraps another and changes only how frames load.

    Name, frame count, sizes and :meth:`verify` are the wrapped video's;
    subclasses override :meth:`load`.

    Parameters
    ----------
    video : Video
        The clip to wrap.
    """

    def __init__(self, video: Video) -> None:
        self.video = video

    @property
    def name(self) -> str:
        """Name of the clip."""
        return self.video.name

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return self.video.num_frames

    @property
    def lr_size(self) -> tuple[int, int]:
        """LR frame size ``(h, w)``."""
        return self.video.lr_size

    @property
    def hr_size(self) -> tuple[int, int]:
        """HR frame size ``(H, W)``."""
        return self.video.hr_size

    def verify(self) -> None:
        """Check the wrapped clip's frames (see :meth:`Video.verify`)."""
        self.video.verify()

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Load the frames at ``indices`` (see :meth:`Video.load`)."""
        return self.video.load(indices)


class InMemoryVideo:
    """A clip held as two uint8 arrays (used for the synthetic dataset).

    Parameters
    ----------
    name : str
        Name of the clip.
    lr : np.ndarray
        LR frames, uint8 ``(T, h, w, 3)``.
    hr : np.ndarray
        HR frames, uint8 ``(T, H, W, 3)`` with ``H = scale * h`` and
        ``W = scale * w`` for one integer ``scale >= 1`` (inferred).

    Raises
    ------
    DatasetError
        If an array has the wrong dtype or shape, the frame counts differ, or the
        HR size is not an integer multiple of the LR size; the message names the
        video.
    """

    def __init__(self, name: str, lr: np.ndarray, hr: np.ndarray) -> None:
        self._name = str(name)
        self._lr = self._frozen(lr, "LR")
        self._hr = self._frozen(hr, "HR")
        if self._lr.shape[0] != self._hr.shape[0]:
            raise DatasetError(
                f"video {name!r}: LR has {self._lr.shape[0]} frames but HR has "
                f"{self._hr.shape[0]}"
            )
        if self._lr.shape[0] < 1:
            raise DatasetError(f"video {name!r} has no frames")
        (h, w), (big_h, big_w) = self.lr_size, self.hr_size
        scale = big_h // h if h > 0 else 0
        if w < 1 or scale < 1 or big_h != scale * h or big_w != scale * w:
            raise DatasetError(
                f"video {name!r}: HR size {format_size(self.hr_size)} is not an "
                f"integer multiple of LR size {format_size(self.lr_size)} "
                "(height x width)"
            )
        self.scale = scale

    def _frozen(self, frames: np.ndarray, which: str) -> np.ndarray:
        array = np.asarray(frames)
        if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
            raise DatasetError(
                f"video {self._name!r}: {which} frames must be a uint8 array of shape "
                f"(T, height, width, 3), got {array.dtype} {array.shape}"
            )
        view = array.view()
        view.flags.writeable = False
        return view

    @property
    def name(self) -> str:
        """Name of the clip."""
        return self._name

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self._lr.shape[0])

    @property
    def lr_size(self) -> tuple[int, int]:
        """LR frame size ``(h, w)``."""
        return int(self._lr.shape[1]), int(self._lr.shape[2])

    @property
    def hr_size(self) -> tuple[int, int]:
        """HR frame size ``(H, W)``."""
        return int(self._hr.shape[1]), int(self._hr.shape[2])

    @property
    def lr(self) -> np.ndarray:
        """All LR frames (read-only view)."""
        return self._lr

    @property
    def hr(self) -> np.ndarray:
        """All HR frames (read-only view)."""
        return self._hr

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Copy the frames at ``indices``; see :meth:`Video.load`."""
        checked = check_frame_indices(self._name, indices, self.num_frames)
        return self._lr[checked].copy(), self._hr[checked].copy()

    def verify(self) -> None:
        """Nothing to check: the arrays were validated on construction."""

    def __repr__(self) -> str:
        return (
            f"InMemoryVideo(name={self._name!r}, num_frames={self.num_frames}, "
            f"lr_size={self.lr_size}, hr_size={self.hr_size})"
        )


class FrameFolderVideo:
    """A clip stored as two folders of frame images (LR and HR).

    Frames are the ``.png``/``.jpg`` files of each folder, sorted by name; the
    two folders must hold the same frame names. Construction lists the files and
    reads only the headers of the first LR and HR frame.

    Parameters
    ----------
    name : str
        Name of the clip.
    lr_dir, hr_dir : str or Path
        Folders with the LR and the HR frames.
    scale : int
        Upscaling factor; the HR size must be ``scale`` times the LR size.

    Raises
    ------
    DatasetError
        If a folder is missing or empty, the frame counts or names differ
        (naming both folders), or the first frames' sizes do not match ``scale``
        (naming both files and their sizes).
    """

    def __init__(
        self, name: str, lr_dir: str | Path, hr_dir: str | Path, scale: int
    ) -> None:
        if int(scale) < 1:
            raise DatasetError(f"video {name!r}: scale {scale} must be >= 1")
        self._name = str(name)
        self.scale = int(scale)
        self.lr_dir = Path(lr_dir)
        self.hr_dir = Path(hr_dir)
        self.lr_files = list_frame_files(self.lr_dir)
        self.hr_files = list_frame_files(self.hr_dir)
        self._check_pairing()
        self._lr_size = image_size(self.lr_files[0])
        self._hr_size = image_size(self.hr_files[0])
        expected = (self.scale * self._lr_size[0], self.scale * self._lr_size[1])
        if self._hr_size != expected:
            raise DatasetError(
                f"LR/HR size mismatch for scale {self.scale}: LR frame "
                f"{self.lr_files[0]} is {format_size(self._lr_size)} and HR frame "
                f"{self.hr_files[0]} is {format_size(self._hr_size)} (height x "
                f"width); expected HR {format_size(expected)}"
            )

    def _check_pairing(self) -> None:
        if len(self.lr_files) != len(self.hr_files):
            raise DatasetError(
                f"frame count mismatch: LR folder {self.lr_dir} has "
                f"{len(self.lr_files)} frames but HR folder {self.hr_dir} has "
                f"{len(self.hr_files)}"
            )
        for lr_file, hr_file in zip(self.lr_files, self.hr_files, strict=True):
            if lr_file.stem != hr_file.stem:
                raise DatasetError(
                    f"frame names differ between LR folder {self.lr_dir} and HR "
                    f"folder {self.hr_dir}: {lr_file.name!r} vs {hr_file.name!r}"
                )

    @property
    def name(self) -> str:
        """Name of the clip."""
        return self._name

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return len(self.lr_files)

    @property
    def lr_size(self) -> tuple[int, int]:
        """LR frame size ``(h, w)`` (of the first frame)."""
        return self._lr_size

    @property
    def hr_size(self) -> tuple[int, int]:
        """HR frame size ``(H, W)`` (of the first frame)."""
        return self._hr_size

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Read the frames at ``indices``; see :meth:`Video.load`.

        Raises
        ------
        DatasetError
            If a file is unreadable or its size differs from the clip's first
            frame; the message names the file.
        """
        checked = check_frame_indices(self._name, indices, self.num_frames)
        lr = [
            self._read(self.lr_files[i], self._lr_size, self.lr_files[0])
            for i in checked
        ]
        hr = [
            self._read(self.hr_files[i], self._hr_size, self.hr_files[0])
            for i in checked
        ]
        return np.stack(lr), np.stack(hr)

    def verify(self) -> None:
        """Check every frame file's integrity and size without decoding it.

        Raises
        ------
        DatasetError
            If a file is missing, truncated or corrupt, or its size differs
            from the clip's first frame; the message names the file.
        """
        for files, size in (
            (self.lr_files, self._lr_size),
            (self.hr_files, self._hr_size),
        ):
            for path in files:
                found = verify_frame(path)
                if found != size:
                    raise DatasetError(
                        f"frame {path} is {format_size(found)} but the clip's "
                        f"first frame {files[0]} is {format_size(size)} "
                        "(height x width)"
                    )

    @staticmethod
    def _read(path: Path, size: tuple[int, int], first: Path) -> np.ndarray:
        frame = read_frame(path)
        if frame.shape[:2] != size:
            raise DatasetError(
                f"frame {path} is {format_size(frame.shape[:2])} but the clip's "
                f"first frame {first} is {format_size(size)} (height x width)"
            )
        return frame

    def __repr__(self) -> str:
        return (
            f"FrameFolderVideo(name={self._name!r}, lr_dir='{self.lr_dir}', "
            f"hr_dir='{self.hr_dir}', scale={self.scale})"
        )
