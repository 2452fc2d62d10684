"""Real VSR datasets on disk, in their usual BasicSR folder layouts.

Two layouts are recognised (``X4``/``BIx4`` follow the ``scale``):

* **REDS**: ``<root>/train_sharp/<clip>/<frame>.png`` (HR) and
  ``<root>/train_sharp_bicubic/X4/<clip>/<frame>.png`` (LR). The REDS4 clips
  ``000``, ``011``, ``015`` and ``020`` are the test set and never train.
* **Vid4**: ``<root>/GT/<clip>/*.png`` (HR) and ``<root>/BIx4/<clip>/*.png`` (LR);
  test only, evaluated on the Y channel.
* **Video files**: ``<root>/*.mp4`` (or ``.avi``, ``.mkv``, ...), real footage;
  test only, evaluated on the Y channel like Vid4. Each file's first
  ``max_frames`` frames are decoded into memory, the LR made by bicubic
  downsampling (:mod:`~fedvideo.tasks.vsr.data.video_files`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedvideo.data.decode import VIDEO_SUFFIXES
from fedvideo.data.errors import DatasetError
from fedvideo.tasks.vsr.data.video import FrameFolderVideo, Video
from fedvideo.tasks.vsr.data.video_files import list_video_files, load_video_file

__all__ = [
    "REDS4_CLIPS",
    "VID4_CLIPS",
    "VSRDataset",
    "clip_folders",
    "discover_vsr_dataset",
    "reds_lr_folder",
]

#: The REDS4 test clips; never part of a training list.
REDS4_CLIPS: tuple[str, ...] = ("000", "011", "015", "020")
#: The Vid4 clips (for reference; every clip found under ``GT`` is used).
VID4_CLIPS: tuple[str, ...] = ("calendar", "city", "foliage", "walk")


@dataclass
class VSRDataset:
    """A discovered VSR dataset.

    Attributes
    ----------
    name : str
        ``"reds"``, ``"vid4"`` or ``"videos"``.
    train : list[Video]
        Training clips (REDS: every clip but REDS4; Vid4: none).
    test : list[Video]
        Held-out clips (REDS: the REDS4 clips present; Vid4: every clip).
    eval_y_channel : bool
        Whether PSNR/SSIM are computed on the Y channel (Vid4 convention).
    """

    name: str
    train: list[Video]
    test: list[Video]
    eval_y_channel: bool


def reds_lr_folder(root: Path, scale: int) -> Path:
    """Return the REDS LR folder ``<root>/train_sharp_bicubic/X<scale>``."""
    return root / "train_sharp_bicubic" / f"X{scale}"


def _expected_layouts(scale: int) -> str:
    return (
        f"expected a REDS layout (train_sharp/<clip>/*.png and "
        f"train_sharp_bicubic/X{scale}/<clip>/*.png), a Vid4 layout "
        f"(GT/<clip>/*.png and BIx{scale}/<clip>/*.png) or video files "
        f"({', '.join('*' + s for s in VIDEO_SUFFIXES)})"
    )


def clip_folders(folder: Path) -> dict[str, Path]:
    """Sub-folders of ``folder`` by name (hidden ones skipped), sorted."""
    return {
        path.name: path
        for path in sorted(folder.iterdir())
        if path.is_dir() and not path.name.startswith(".")
    }


def _paired_videos(hr_root: Path, lr_root: Path, scale: int) -> list[FrameFolderVideo]:
    """One video per clip folder of ``hr_root``, paired with ``lr_root``.

    Raises
    ------
    DatasetError
        If the LR folder is missing, there are no clips, or the clip folders of
        the two roots differ (naming the clip and the folder it is missing from).
    """
    if not lr_root.is_dir():
        raise DatasetError(
            f"LR folder {lr_root} does not exist (HR clips are in {hr_root}); "
            f"check the scale (vsr.scale={scale})"
        )
    hr_clips, lr_clips = clip_folders(hr_root), clip_folders(lr_root)
    if not hr_clips:
        raise DatasetError(f"HR folder {hr_root} contains no clip folders")
    if missing := sorted(hr_clips.keys() - lr_clips.keys()):
        raise DatasetError(
            f"clip folder {hr_clips[missing[0]]} has no LR counterpart in {lr_root}"
        )
    if missing := sorted(lr_clips.keys() - hr_clips.keys()):
        raise DatasetError(
            f"clip folder {lr_clips[missing[0]]} has no HR counterpart in {hr_root}"
        )
    return [
        FrameFolderVideo(clip, lr_clips[clip], hr_folder, scale)
        for clip, hr_folder in hr_clips.items()
    ]


def _discover_reds(root: Path, scale: int) -> VSRDataset:
    videos = _paired_videos(root / "train_sharp", reds_lr_folder(root, scale), scale)
    return VSRDataset(
        name="reds",
        train=[video for video in videos if video.name not in REDS4_CLIPS],
        test=[video for video in videos if video.name in REDS4_CLIPS],
        eval_y_channel=False,
    )


def _discover_vid4(root: Path, scale: int) -> VSRDataset:
    videos = _paired_videos(root / "GT", root / f"BIx{scale}", scale)
    return VSRDataset(name="vid4", train=[], test=list(videos), eval_y_channel=True)


def discover_vsr_dataset(
    root: str | Path, scale: int = 4, max_frames: int = 30
) -> VSRDataset:
    """Detect the layout of a REDS, Vid4 or video-file folder and list its clips.

    For REDS and Vid4 only folder listings and the first frames' headers are
    read; frames are loaded on demand by the returned videos. Video files are
    decoded at once (their first ``max_frames`` frames).

    Parameters
    ----------
    root : str or Path
        The dataset folder (the one holding ``train_sharp`` or ``GT``).
    scale : int
        Upscaling factor; selects ``X<scale>`` / ``BIx<scale>``.
    max_frames : int
        Frames decoded per video file (``vsr.video-max-frames``).

    Returns
    -------
    VSRDataset
        REDS: train = every clip except REDS4, test = the REDS4 clips present,
        Y-channel evaluation off. Vid4 and video files: no training clips,
        test = every clip, Y-channel evaluation on.

    Raises
    ------
    DatasetError
        If the folder does not exist, is empty, has an unrecognised layout, or a
        clip is incomplete (missing LR/HR folder, no frames, mismatched frames).
    """
    root = Path(root).expanduser()
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise DatasetError(f"scale (vsr.scale) must be an integer >= 1, got {scale!r}")
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} is a file, not a folder")
    if not any(root.iterdir()):
        raise DatasetError(
            f"dataset folder {root} is empty; {_expected_layouts(scale)}"
        )
    if (root / "train_sharp").is_dir():
        return _discover_reds(root, scale)
    if (root / "GT").is_dir():
        return _discover_vid4(root, scale)
    if files := list_video_files(root):
        clips = [load_video_file(path, scale, max_frames) for path in files]
        return VSRDataset(name="videos", train=[], test=clips, eval_y_channel=True)
    raise DatasetError(
        f"dataset folder {root} has an unrecognised layout; {_expected_layouts(scale)}"
    )
