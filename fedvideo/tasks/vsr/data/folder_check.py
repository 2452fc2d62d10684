"""``fedvideo prepare reds|vid4 --check DIR``: whether REDS or Vid4 is complete.

Neither dataset ships an index file, so the official clip lists below are the
reference: every clip in both its HR and its LR folder, with the official
number of frames, and every frame a readable image (PNG chunks and CRCs
verified, see :func:`~fedvideo.data.frames.verify_frame`) whose HR size is
``scale`` times its LR size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fedvideo.data.errors import DatasetError
from fedvideo.data.folder_check import FolderCheck, with_progress
from fedvideo.data.frames import format_size, list_frame_files, verify_frame
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS, clip_folders, reds_lr_folder

__all__ = [
    "REDS_FRAMES_PER_CLIP",
    "REDS_TRAIN_CLIPS",
    "VID4_FRAMES",
    "check_reds",
    "check_vid4",
]

#: The official REDS training clips (``train_sharp``): 000 to 239.
REDS_TRAIN_CLIPS: tuple[str, ...] = tuple(f"{i:03d}" for i in range(240))
#: Frames of every REDS clip: ``00000000.png`` to ``00000099.png``.
REDS_FRAMES_PER_CLIP = 100
#: The Vid4 clips and their frame counts.
VID4_FRAMES: Mapping[str, int] = {"calendar": 41, "city": 34, "foliage": 49, "walk": 47}


def check_reds(
    root: str | Path,
    scale: int = 4,
    clips: Sequence[str] = REDS_TRAIN_CLIPS,
    frames_per_clip: int = REDS_FRAMES_PER_CLIP,
) -> FolderCheck:
    """Check a REDS folder: ``train_sharp`` and ``train_sharp_bicubic/X<scale>``.

    Parameters
    ----------
    root : str or Path
        The folder holding ``train_sharp``.
    scale : int
        Upscaling factor; selects ``train_sharp_bicubic/X<scale>``.
    clips : Sequence[str]
        The clips a complete folder holds (the official 000 to 239).
    frames_per_clip : int
        Frames of every clip (the official 100).

    Returns
    -------
    FolderCheck
        Training clips (every clip but REDS4), REDS4 test clips and frames found;
        every missing clip, missing frame and unreadable file.
    """
    root = Path(root).expanduser()
    check = FolderCheck("REDS", root)
    expected = dict.fromkeys(clips, frames_per_clip)
    found = _check_pairs(
        check, root / "train_sharp", reds_lr_folder(root, scale), expected, scale
    )
    check.counts = {
        "training clips": len([c for c in found if c not in REDS4_CLIPS]),
        "REDS4 test clips": len([c for c in found if c in REDS4_CLIPS]),
        **check.counts,
    }
    check.note(
        f"the REDS4 clips {', '.join(REDS4_CLIPS)} are the test set and never "
        "train (vsr.dataset uses every other clip for training)"
    )
    if extra := sorted(set(found) - set(clips)):
        check.note(
            f"{len(extra)} clip(s) besides the {len(clips)} official ones "
            f"({extra[0]} ...), e.g. merged validation clips: they train too"
        )
    return check


def check_vid4(root: str | Path, scale: int = 4) -> FolderCheck:
    """Check a Vid4 folder: ``GT/<clip>`` and ``BIx<scale>/<clip>``.

    Parameters
    ----------
    root : str or Path
        The folder holding ``GT``.
    scale : int
        Upscaling factor; selects ``BIx<scale>``.

    Returns
    -------
    FolderCheck
        Test clips and frames found; every missing clip or frame and unreadable
        file.
    """
    root = Path(root).expanduser()
    check = FolderCheck("Vid4", root)
    clips = _check_pairs(check, root / "GT", root / f"BIx{scale}", VID4_FRAMES, scale)
    check.counts = {"test clips": len(clips), **check.counts}
    check.note("Vid4 is a test set (vsr.test-dataset), scored on the Y channel")
    return check


def _check_pairs(
    check: FolderCheck,
    hr_root: Path,
    lr_root: Path,
    expected: Mapping[str, int],
    scale: int,
) -> list[str]:
    """Check the paired clip folders of ``hr_root`` and ``lr_root``.

    ``expected`` maps each official clip to its frame count. Returns the clips
    present in both folders with all their frames listed.
    """
    missing_root = [f for f in (hr_root, lr_root) if not f.is_dir()]
    for folder in missing_root:
        check.problem(f"folder {folder} does not exist")
    if missing_root:
        return []
    hr_clips, lr_clips = clip_folders(hr_root), clip_folders(lr_root)
    for clip in expected:
        for clips, root in ((hr_clips, hr_root), (lr_clips, lr_root)):
            if clip not in clips:
                check.problem(f"clip folder {root / clip} does not exist")
    for clip in sorted(hr_clips.keys() ^ lr_clips.keys()):
        if clip not in expected:
            has, lacks = (hr_root, lr_root) if clip in hr_clips else (lr_root, hr_root)
            check.problem(f"clip {clip} is in {has} but not in {lacks}")
    paired = sorted(hr_clips.keys() & lr_clips.keys())
    frames = {
        clip: _frame_pairs(check, hr_clips[clip], lr_clips[clip], expected.get(clip))
        for clip in paired
    }
    total = sum(len(pairs) for pairs in frames.values())
    hr_sizes: set[tuple[int, int]] = set()
    pairs = ((hr, lr) for clip in paired for hr, lr in frames[clip])
    for hr, lr in with_progress(pairs, total, "frame pairs"):
        hr_size, lr_size = _verify(check, hr), _verify(check, lr)
        check.count("HR frames", hr_size is not None)
        check.count(f"LR frames (x{scale})", lr_size is not None)
        if hr_size and lr_size and hr_size != (lr_size[0] * scale, lr_size[1] * scale):
            check.problem(
                f"{hr} is {format_size(hr_size)} but {lr} is {format_size(lr_size)} "
                f"(expected x{scale})"
            )
        if hr_size:
            hr_sizes.add(hr_size)
    if hr_sizes:
        check.note("HR frame sizes: " + ", ".join(map(format_size, sorted(hr_sizes))))
    return [clip for clip in paired if frames[clip]]


def _frame_pairs(
    check: FolderCheck, hr_folder: Path, lr_folder: Path, expected: int | None
) -> list[tuple[Path, Path]]:
    """List the (HR, LR) frame files of one clip, matched by name."""
    try:
        hr = {path.name: path for path in list_frame_files(hr_folder)}
        lr = {path.name: path for path in list_frame_files(lr_folder)}
    except DatasetError as err:
        check.problem(str(err))
        return []
    for name in sorted(hr.keys() - lr.keys()):
        check.problem(f"frame {lr_folder / name} is missing (its HR frame exists)")
    for name in sorted(lr.keys() - hr.keys()):
        check.problem(f"frame {hr_folder / name} is missing (its LR frame exists)")
    if expected is not None and len(hr) != expected:
        check.problem(
            f"clip folder {hr_folder} has {len(hr)} frames, expected {expected}"
        )
    return [(hr[name], lr[name]) for name in sorted(hr.keys() & lr.keys())]


def _verify(check: FolderCheck, path: Path) -> tuple[int, int] | None:
    try:
        return verify_frame(path)
    except DatasetError as err:
        check.problem(str(err))
        return None
