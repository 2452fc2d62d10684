"""``fedvideo prepare ucf101|hmdb51|kinetics400 --check DIR``: is it complete.

Each dataset's own split lists (UCF-101, HMDB-51) or annotation CSVs
(Kinetics-400) say which videos it holds; they are parsed exactly as
``fedvideo prepare ssl`` parses them. The check reports the classes and the
train / test videos the lists name, every listed video that is missing, and
every video file that is unreadable or cut short
(:func:`~fedvideo.data.decode.inspect_video_file`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fedvideo.data.decode import inspect_video_file
from fedvideo.data.errors import DatasetError
from fedvideo.data.folder_check import FolderCheck, with_progress
from fedvideo.tasks.ssl.data.action_datasets import (
    RawActionLayout,
    parse_hmdb51,
    parse_kinetics400,
    parse_ucf101,
)

__all__ = ["check_hmdb51", "check_kinetics400", "check_ucf101"]


def check_ucf101(
    root: str | Path, split_dir: str | Path | None = None, split: int = 1
) -> FolderCheck:
    """Check a UCF-101 download against one official split's lists.

    Parameters
    ----------
    root : str or Path
        The folder holding ``UCF-101/<Class>/*.avi`` (and by default
        ``ucfTrainTestlist``).
    split_dir : str, Path or None
        The ``ucfTrainTestlist`` folder, if elsewhere.
    split : int
        Official split 1, 2 or 3.
    """
    root = Path(root).expanduser()
    check = FolderCheck("UCF-101", root)
    _check_layout(check, lambda: parse_ucf101(root, split_dir, split), split)
    return check


def check_hmdb51(
    root: str | Path, split_dir: str | Path | None = None, split: int = 1
) -> FolderCheck:
    """Check an HMDB-51 download against one official split's files.

    Parameters
    ----------
    root : str or Path
        The folder holding ``<class>/*.avi`` (and by default
        ``testTrainMulti_7030_splits``).
    split_dir : str, Path or None
        The folder of ``<class>_test_split<k>.txt`` files, if elsewhere.
    split : int
        Official split 1, 2 or 3.
    """
    root = Path(root).expanduser()
    check = FolderCheck("HMDB-51", root)
    _check_layout(check, lambda: parse_hmdb51(root, split_dir, split), split)
    return check


def check_kinetics400(
    root: str | Path,
    annotations: Sequence[str | Path],
    max_missing_fraction: float = 0.0,
) -> FolderCheck:
    """Check a Kinetics-400 download against its annotation CSVs.

    Kinetics videos are YouTube clips and some are no longer online, so most
    copies lack a few percent of them. ``max_missing_fraction`` is the share of
    listed videos that may be missing without making the folder incomplete
    (``fedvideo prepare ssl`` skips them); unreadable files always do.

    Parameters
    ----------
    root : str or Path
        The folder searched recursively for the video files.
    annotations : sequence of str or Path
        The annotation CSVs (``label,youtube_id,time_start,time_end,split``).
    max_missing_fraction : float
        Share of listed videos allowed to be missing, in [0, 1].
    """
    if not 0.0 <= max_missing_fraction <= 1.0:
        raise DatasetError(
            f"--max-missing must be between 0 and 1, got {max_missing_fraction}"
        )
    root = Path(root).expanduser()
    check = FolderCheck("Kinetics-400", root)
    _check_layout(
        check, lambda: parse_kinetics400(root, annotations), None, max_missing_fraction
    )
    return check


def _check_layout(
    check: FolderCheck,
    parse: Callable[[], RawActionLayout],
    split: int | None,
    max_missing_fraction: float = 0.0,
) -> None:
    """Fill ``check`` from a parsed layout and an inspection of every video."""
    try:
        layout = parse()
    except DatasetError as err:
        check.problem(str(err))
        return
    named = f"split {split} " if split is not None else ""
    check.count("classes", len(layout.classes))
    for split_name in ("train", "test"):
        found = sum(video.split == split_name for video in layout.videos)
        check.count(f"{named}{split_name} videos found", found)
    check.count("listed videos missing", len(layout.missing))
    listed = len(layout.videos) + len(layout.missing)
    if layout.missing:
        share = len(layout.missing) / listed
        text = (
            f"{len(layout.missing):,} of the {listed:,} listed videos are missing "
            f"({100 * share:.1f} %), e.g. {', '.join(layout.missing[:3])}"
        )
        if share <= max_missing_fraction:
            check.note(text + f"; allowed up to {100 * max_missing_fraction:g} %")
        else:
            check.problem(text)
    for video in with_progress(layout.videos, len(layout.videos), "videos"):
        try:
            check.count("frames", inspect_video_file(video.video_path).frames)
        except DatasetError as err:
            check.problem(str(err))
