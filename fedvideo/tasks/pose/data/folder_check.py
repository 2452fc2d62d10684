"""``fedvideo prepare mpii --check DIR``: whether an MPII download is complete.

The HRNet/mmpose annotation files (``annotations/train.json``,
``valid.json`` and ``gt_valid.mat``) are read exactly as a run reads them
(:func:`~fedvideo.tasks.pose.data.mpii.load_mpii`). The check reports the people
and images each split names, what is missing, and every image that cannot be
decoded in full (a truncated JPEG fails here).
"""

from __future__ import annotations

from pathlib import Path

from fedvideo.data.errors import DatasetError
from fedvideo.data.folder_check import FolderCheck, with_progress
from fedvideo.data.frames import read_frame
from fedvideo.tasks.pose.data.mpii import MPII_SPLITS, load_mpii

__all__ = ["MPII_PEOPLE", "check_mpii"]

#: People per split in the HRNet/mmpose annotation files.
MPII_PEOPLE = {"train": 22246, "valid": 2958}


def check_mpii(root: str | Path) -> FolderCheck:
    """Check an MPII folder: ``images/`` and the ``annotations/`` of both splits.

    Parameters
    ----------
    root : str or Path
        The folder holding ``images`` and ``annotations``.

    Returns
    -------
    FolderCheck
        People and images per split; a missing or malformed annotation file,
        missing images or head boxes, and every image that does not decode.
    """
    root = Path(root).expanduser()
    check = FolderCheck("MPII", root)
    images: dict[Path, None] = {}
    for split in MPII_SPLITS:
        try:
            records = load_mpii(root, split)
        except DatasetError as err:
            check.problem(str(err))
            continue
        split_images = dict.fromkeys(record.image for record in records)
        check.count(f"{split} people", len(records))
        check.count(f"{split} images", len(split_images))
        images.update(split_images)
        if len(records) != MPII_PEOPLE[split]:
            check.note(
                f"annotations/{split}.json lists {len(records):,} people; the "
                f"HRNet/mmpose file lists {MPII_PEOPLE[split]:,}"
            )
    for image in with_progress(list(images), len(images), "images"):
        try:
            read_frame(image)
        except DatasetError as err:
            check.problem(str(err))
    return check
