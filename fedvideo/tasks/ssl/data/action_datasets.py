"""Action video datasets: the prepared frame layout and the raw download layouts.

``fedvideo prepare ssl`` decodes a raw dataset once into the
*prepared layout* that training reads::

    <root>/
      frames/<class>/<video>/img_00001.jpg ...
      annotations/train.json    # [{"name": "<class>/<video>", "label": 0}, ...]
      annotations/test.json     # optional (absent for pretraining-only data)
      annotations/classes.json  # ["<class name>", ...], index = label

Three raw layouts are parsed (pure functions of the folder tree; nothing is
decoded here):

* **UCF-101**: ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` and the official
  ``ucfTrainTestlist`` folder (``classInd.txt``, ``trainlist0k.txt``,
  ``testlist0k.txt``, ``k`` = 1, 2, 3).
* **HMDB-51**: ``<root>/<class>/<video>.avi`` and the split files
  ``<class>_test_split<k>.txt`` (lines ``<video>.avi <id>``; 1 = train,
  2 = test, 0 = unused).
* **Kinetics-400**: ``<youtube_id>_<start:06d>_<end:06d>.mp4`` anywhere under
  the videos folder, and annotation CSVs with the columns
  ``label,youtube_id,time_start,time_end,split`` (``val``/``validate`` rows are
  the test split). Rows without a video file are reported as missing.

Every video is named ``<class folder>/<video stem>``, where the class folder is
the class name with spaces replaced by ``_``.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from fedvideo.data.errors import DatasetError, read_json_file
from fedvideo.tasks.ssl.data.action_video import ActionVideo, FrameFolderActionVideo

__all__ = [
    "ANNOTATIONS_DIR",
    "FRAMES_DIR",
    "VIDEO_SUFFIXES",
    "ActionDataset",
    "RawActionLayout",
    "RawVideo",
    "class_folder_name",
    "load_prepared_action_dataset",
    "parse_hmdb51",
    "parse_kinetics400",
    "parse_ucf101",
    "read_annotation_list",
    "read_class_names",
    "video_frame_folder",
    "write_annotation_list",
    "write_class_names",
    "write_prepared_annotations",
]

#: Sub-folder of a prepared dataset holding ``<class>/<video>/img_00001.jpg``.
FRAMES_DIR = "frames"
#: Sub-folder of a prepared dataset holding the JSON annotation files.
ANNOTATIONS_DIR = "annotations"
#: File suffixes (lower case) recognised as raw videos.
VIDEO_SUFFIXES: tuple[str, ...] = (".avi", ".mp4", ".mkv", ".webm", ".mov")

_PREPARE_HINT = (
    "run `fedvideo prepare ssl --dataset ... --raw-root ... "
    "--out {root}` (or `fedvideo prepare synthetic-ssl --out {root}`) "
    "first"
)


def class_folder_name(class_name: str) -> str:
    """Return the folder name of a class: its name with spaces replaced by ``_``.

    Raises
    ------
    DatasetError
        If the name is empty, ``.``/``..`` or contains a path separator.
    """
    folder = str(class_name).strip().replace(" ", "_")
    if not folder or folder in (".", "..") or "/" in folder or "\\" in folder:
        raise DatasetError(f"class name {class_name!r} cannot be used as a folder name")
    return folder


def video_frame_folder(root: str | Path, name: str) -> Path:
    """Return the frame folder ``<root>/frames/<class>/<video>`` of video ``name``."""
    return Path(root) / FRAMES_DIR / name


# ---------------------------------------------------------------------------
# Annotation files
# ---------------------------------------------------------------------------


def _check_entry(path: Path, index: int, entry: object) -> dict[str, Any]:
    """Validate one annotation entry; return ``{"name": str, "label": int}``."""
    where = f"annotation file {path}, entry {index}"
    if not isinstance(entry, Mapping):
        raise DatasetError(f"{where}: expected an object with name and label")
    name, label = entry.get("name"), entry.get("label")
    if not isinstance(name, str):
        raise DatasetError(f"{where}: name must be a string, got {name!r}")
    parts = name.split("/")
    if len(parts) != 2 or any(part in ("", ".", "..") for part in parts):
        raise DatasetError(
            f"{where}: name {name!r} must have the form '<class>/<video>'"
        )
    if isinstance(label, bool) or not isinstance(label, int) or label < 0:
        raise DatasetError(
            f"{where} ({name!r}): label must be an integer >= 0, got {label!r}"
        )
    return {"name": name, "label": label}


def _check_entries(path: Path, entries: object) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise DatasetError(
            f"annotation file {path} must hold a JSON list of "
            '{"name": "<class>/<video>", "label": int} objects'
        )
    checked = [_check_entry(path, i, entry) for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for index, entry in enumerate(checked):
        if entry["name"] in seen:
            raise DatasetError(
                f"annotation file {path}, entry {index}: duplicate video name "
                f"{entry['name']!r}"
            )
        seen.add(entry["name"])
    return checked


def _write_text(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` via a temporary file (no half-written file)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as err:
        raise DatasetError(f"cannot write {what} {path}: {err}") from err


def read_annotation_list(path: str | Path) -> list[dict[str, Any]]:
    """Read an annotation file: a JSON list of ``{"name": str, "label": int}``.

    Parameters
    ----------
    path : str or Path
        The JSON file (``annotations/train.json`` or ``test.json``).

    Returns
    -------
    list[dict[str, Any]]
        The entries, each with exactly the keys ``name`` and ``label``.

    Raises
    ------
    DatasetError
        If the file is missing or not valid JSON, is not a list, an entry is
        malformed (naming the file and the entry's index) or a name repeats.
    """
    path = Path(path)
    return _check_entries(path, read_json_file(path, "annotation file"))


def write_annotation_list(
    path: str | Path, entries: Sequence[Mapping[str, Any]]
) -> None:
    """Validate ``entries`` and write them as an annotation file (one per line).

    Parent folders are created.

    Raises
    ------
    DatasetError
        If an entry is malformed (naming ``path`` and the entry's index), a name
        repeats, or the file cannot be written.
    """
    path = Path(path)
    checked = _check_entries(path, list(entries))
    lines = ",\n".join(json.dumps(entry) for entry in checked)
    _write_text(path, f"[\n{lines}\n]\n" if checked else "[]\n", "annotation file")


def read_class_names(path: str | Path) -> list[str]:
    """Read ``classes.json``: a non-empty JSON list of distinct class names.

    Raises
    ------
    DatasetError
        If the file is missing, invalid, empty or holds a non-string or repeated
        name; the message names the file.
    """
    path = Path(path)
    classes = read_json_file(path, "class list")
    valid = isinstance(classes, list) and all(isinstance(c, str) for c in classes)
    if not valid or not classes:
        raise DatasetError(
            f"class list {path} must hold a non-empty JSON list of class names"
        )
    if len(set(classes)) != len(classes):
        raise DatasetError(f"class list {path} names a class twice")
    return classes


def write_class_names(path: str | Path, classes: Sequence[str]) -> None:
    """Write ``classes.json`` (index = label); parent folders are created.

    Raises
    ------
    DatasetError
        If ``classes`` is empty, holds a non-string or repeated name, or the file
        cannot be written.
    """
    path = Path(path)
    names = list(classes)
    if not names or not all(isinstance(c, str) for c in names):
        raise DatasetError(f"class list for {path} must be a non-empty list of names")
    if len(set(names)) != len(names):
        raise DatasetError(f"class list for {path} names a class twice")
    _write_text(path, json.dumps(names, indent=1) + "\n", "class list")


def write_prepared_annotations(
    root: str | Path,
    classes: Sequence[str],
    train: Sequence[Mapping[str, Any]],
    test: Sequence[Mapping[str, Any]],
) -> None:
    """Write ``classes.json``, ``train.json`` and ``test.json`` under ``root``.

    Raises
    ------
    DatasetError
        If an entry is malformed or its label is not a class index, or a file
        cannot be written.
    """
    folder = Path(root) / ANNOTATIONS_DIR
    for split, entries in (("train", train), ("test", test)):
        for index, entry in enumerate(entries):
            label = entry.get("label")
            if isinstance(label, int) and not 0 <= label < len(classes):
                raise DatasetError(
                    f"{split} entry {index} ({entry.get('name')!r}): label {label} "
                    f"is not a class index (there are {len(classes)} classes)"
                )
    write_class_names(folder / "classes.json", classes)
    write_annotation_list(folder / "train.json", train)
    write_annotation_list(folder / "test.json", test)


# ---------------------------------------------------------------------------
# Prepared datasets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionDataset:
    """A prepared action dataset.

    Attributes
    ----------
    name : str
        The name of the dataset's root folder.
    root : Path
        The prepared dataset's root folder.
    classes : list[str]
        Class names; ``classes[label]`` is the class of a video.
    train : list[ActionVideo]
        Training videos (``annotations/train.json``).
    test : list[ActionVideo]
        Test videos (``annotations/test.json``; empty if absent).
    """

    name: str
    root: Path
    classes: list[str]
    train: list[ActionVideo] = field(repr=False)
    test: list[ActionVideo] = field(repr=False)


def _prepared_videos(
    root: Path, path: Path, num_classes: int
) -> list[FrameFolderActionVideo]:
    videos = []
    for index, entry in enumerate(read_annotation_list(path)):
        name, label = entry["name"], entry["label"]
        if label >= num_classes:
            raise DatasetError(
                f"annotation file {path}, entry {index} ({name!r}): label {label} "
                f"is not a class index (classes.json lists {num_classes} classes)"
            )
        folder = video_frame_folder(root, name)
        if not folder.is_dir():
            raise DatasetError(
                f"annotation file {path}, entry {index}: frame folder {folder} of "
                f"video {name!r} does not exist"
            )
        videos.append(FrameFolderActionVideo(name, label, folder))
    return videos


def load_prepared_action_dataset(root: str | Path) -> ActionDataset:
    """Load a dataset in the prepared layout (see the module docstring).

    Only the annotation files are read and every video's frame folder is checked
    to exist; frames are listed and read on demand.

    Parameters
    ----------
    root : str or Path
        The prepared dataset's root folder.

    Returns
    -------
    ActionDataset
        Its classes and its training and test videos (as
        :class:`~fedvideo.tasks.ssl.data.action_video.FrameFolderActionVideo`).

    Raises
    ------
    DatasetError
        If ``root`` is not a prepared dataset (saying how to prepare one), an
        annotation file is invalid, a label is out of range or a video's frame
        folder is missing (naming it).
    """
    root = Path(root).expanduser()
    annotations = root / ANNOTATIONS_DIR
    for required in (annotations / "classes.json", annotations / "train.json"):
        if not required.is_file():
            raise DatasetError(
                f"{root} is not a prepared action dataset ({required} does not "
                f"exist); {_PREPARE_HINT.format(root=root)}"
            )
    classes = read_class_names(annotations / "classes.json")
    train = _prepared_videos(root, annotations / "train.json", len(classes))
    test_file = annotations / "test.json"
    test = (
        _prepared_videos(root, test_file, len(classes)) if test_file.is_file() else []
    )
    return ActionDataset(
        name=root.resolve().name, root=root, classes=classes, train=train, test=test
    )


# ---------------------------------------------------------------------------
# Raw layouts
# ---------------------------------------------------------------------------


class RawVideo(NamedTuple):
    """One video file of a raw dataset, with its prepared name, label and split."""

    video_path: Path
    name: str
    label: int
    split: str  # "train" or "test"


@dataclass(frozen=True)
class RawActionLayout:
    """The parsed listing of a raw action dataset.

    Attributes
    ----------
    dataset : str
        ``"ucf101"``, ``"hmdb51"`` or ``"kinetics400"``.
    classes : list[str]
        Class names; index = label.
    videos : list[RawVideo]
        The listed videos whose file exists, in list order.
    missing : list[str]
        Names of listed videos whose file was not found.
    """

    dataset: str
    classes: list[str]
    videos: list[RawVideo]
    missing: list[str] = field(default_factory=list)


def _check_split(split: int) -> int:
    if isinstance(split, bool) or split not in (1, 2, 3):
        raise DatasetError(f"--split must be 1, 2 or 3, got {split!r}")
    return int(split)


def _lines(path: Path, what: str) -> list[tuple[int, list[str]]]:
    """Non-empty lines of a text file as ``(line number, whitespace fields)``."""
    if not path.is_file():
        raise DatasetError(f"{what} {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read {what} {path}: {err}") from err
    return [
        (number, line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _split_folder(split_dir: str | Path | None, default: Path, dataset: str) -> Path:
    folder = Path(split_dir).expanduser() if split_dir is not None else default
    if not folder.is_dir():
        raise DatasetError(
            f"{dataset} split folder {folder} does not exist (pass --split-dir)"
        )
    return folder


def _ucf101_classes(path: Path) -> list[str]:
    """Parse ``classInd.txt`` (lines ``"1 ApplyEyeMakeup"``) into a class list."""
    by_id: dict[int, str] = {}
    for number, fields in _lines(path, "UCF-101 class index"):
        if len(fields) != 2 or not fields[0].isdigit():
            raise DatasetError(
                f"UCF-101 class index {path}, line {number}: expected "
                f"'<id> <ClassName>', got {' '.join(fields)!r}"
            )
        by_id[int(fields[0])] = fields[1]
    if sorted(by_id) != list(range(1, len(by_id) + 1)):
        raise DatasetError(
            f"UCF-101 class index {path} must number its classes 1..N without gaps"
        )
    return [by_id[i] for i in range(1, len(by_id) + 1)]


def parse_ucf101(
    raw_root: str | Path, split_dir: str | Path | None = None, split: int = 1
) -> RawActionLayout:
    """List the videos of one official UCF-101 train/test split.

    Parameters
    ----------
    raw_root : str or Path
        Folder holding ``UCF-101/<Class>/*.avi`` (or the ``UCF-101`` folder
        itself).
    split_dir : str, Path or None
        The ``ucfTrainTestlist`` folder; default ``<raw_root>/ucfTrainTestlist``.
    split : int
        Official split 1, 2 or 3 (``trainlist0<split>.txt``,
        ``testlist0<split>.txt``).

    Returns
    -------
    RawActionLayout
        Label = ``classInd.txt`` id - 1; train videos first, then test videos.

    Raises
    ------
    DatasetError
        If a folder or list file is missing or a line is malformed or names an
        unknown class (naming the file and line).
    """
    split = _check_split(split)
    raw_root = Path(raw_root).expanduser()
    if not raw_root.is_dir():
        raise DatasetError(f"UCF-101 folder {raw_root} does not exist (--raw-root)")
    videos_root = raw_root / "UCF-101"
    if not videos_root.is_dir():
        videos_root = raw_root
    lists = _split_folder(split_dir, raw_root / "ucfTrainTestlist", "UCF-101")
    classes = _ucf101_classes(lists / "classInd.txt")
    label_of = {name: label for label, name in enumerate(classes)}
    videos: list[RawVideo] = []
    missing: list[str] = []
    for kind, split_name in (("train", "train"), ("test", "test")):
        path = lists / f"{kind}list0{split}.txt"
        for number, fields in _lines(path, "UCF-101 split list"):
            where = f"UCF-101 split list {path}, line {number}"
            relative = fields[0]
            class_name = relative.split("/")[0]
            if len(fields) > 2 or relative.count("/") != 1:
                raise DatasetError(
                    f"{where}: expected '<Class>/<video>.avi [id]', got "
                    f"{' '.join(fields)!r}"
                )
            if class_name not in label_of:
                raise DatasetError(
                    f"{where}: class {class_name!r} is not in {lists / 'classInd.txt'}"
                )
            label = label_of[class_name]
            if len(fields) == 2 and fields[1] != str(label + 1):
                raise DatasetError(
                    f"{where}: class id {fields[1]} does not match classInd.txt "
                    f"({class_name} = {label + 1})"
                )
            video_path = videos_root / relative
            name = f"{class_folder_name(class_name)}/{Path(relative).stem}"
            if video_path.is_file():
                videos.append(RawVideo(video_path, name, label, split_name))
            else:
                missing.append(name)
    return RawActionLayout("ucf101", classes, videos, missing)


_HMDB_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<k>[123])\.txt$")


def parse_hmdb51(
    raw_root: str | Path, split_dir: str | Path | None = None, split: int = 1
) -> RawActionLayout:
    """List the videos of one official HMDB-51 train/test split.

    Parameters
    ----------
    raw_root : str or Path
        Folder holding ``<class>/<video>.avi``.
    split_dir : str, Path or None
        Folder of the ``<class>_test_split<k>.txt`` files; default
        ``<raw_root>/testTrainMulti_7030_splits``.
    split : int
        Official split 1, 2 or 3.

    Returns
    -------
    RawActionLayout
        Classes are those with a split file, sorted alphabetically (label =
        index); lines with id 1 are train, 2 are test, 0 are unused.

    Raises
    ------
    DatasetError
        If a folder is missing, there are no split files for ``split``, or a line
        is malformed (naming the file and line).
    """
    split = _check_split(split)
    raw_root = Path(raw_root).expanduser()
    if not raw_root.is_dir():
        raise DatasetError(f"HMDB-51 folder {raw_root} does not exist (--raw-root)")
    lists = _split_folder(split_dir, raw_root / "testTrainMulti_7030_splits", "HMDB-51")
    split_files: dict[str, Path] = {}
    for path in lists.iterdir():
        match = _HMDB_SPLIT_FILE.match(path.name)
        if match and int(match["k"]) == split:
            split_files[match["cls"]] = path
    if not split_files:
        raise DatasetError(
            f"HMDB-51 split folder {lists} has no '<class>_test_split{split}.txt' files"
        )
    classes = sorted(split_files)
    videos: list[RawVideo] = []
    missing: list[str] = []
    for label, class_name in enumerate(classes):
        path = split_files[class_name]
        for number, fields in _lines(path, "HMDB-51 split file"):
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise DatasetError(
                    f"HMDB-51 split file {path}, line {number}: expected "
                    f"'<video>.avi <0|1|2>', got {' '.join(fields)!r}"
                )
            if fields[1] == "0":
                continue
            video_path = raw_root / class_name / fields[0]
            name = f"{class_folder_name(class_name)}/{Path(fields[0]).stem}"
            if video_path.is_file():
                split_name = "train" if fields[1] == "1" else "test"
                videos.append(RawVideo(video_path, name, label, split_name))
            else:
                missing.append(name)
    return RawActionLayout("hmdb51", classes, videos, missing)


_KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
_KINETICS_SPLITS = {
    "train": "train",
    "val": "test",
    "validate": "test",
    "validation": "test",
}


def _index_videos(videos_root: Path) -> dict[str, Path]:
    """Map the stem of every video file under ``videos_root`` to its path."""
    index: dict[str, Path] = {}
    for folder, subfolders, files in os.walk(videos_root):
        subfolders.sort()
        for file_name in sorted(files):
            stem, suffix = os.path.splitext(file_name)
            if suffix.lower() in VIDEO_SUFFIXES:
                index.setdefault(stem, Path(folder) / file_name)
    return index


def _kinetics_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Read a Kinetics annotation CSV; return ``(line number, row)`` pairs."""
    if not path.is_file():
        raise DatasetError(f"Kinetics annotation file {path} does not exist")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [column.strip() for column in reader.fieldnames or []]
            if missing := [c for c in _KINETICS_COLUMNS if c not in header]:
                raise DatasetError(
                    f"Kinetics annotation file {path} lacks the column(s) "
                    f"{', '.join(missing)} (expected a header "
                    f"{','.join(_KINETICS_COLUMNS)})"
                )
            reader.fieldnames = header
            return [
                (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(
            f"cannot read Kinetics annotation file {path}: {err}"
        ) from err


def parse_kinetics400(
    videos_root: str | Path, annotations: str | Path | Sequence[str | Path]
) -> RawActionLayout:
    """List the Kinetics-400 videos of one or more annotation CSVs.

    Parameters
    ----------
    videos_root : str or Path
        Folder searched recursively for ``<youtube_id>_<start:06d>_<end:06d>``
        video files (any of :data:`VIDEO_SUFFIXES`; a file named just
        ``<youtube_id>`` is accepted too).
    annotations : str, Path or sequence of them
        CSV files with the columns ``label,youtube_id,time_start,time_end,split``
        (further columns are ignored).

    Returns
    -------
    RawActionLayout
        Classes = the labels of the train/val rows, sorted alphabetically (label
        = index). ``train`` rows are train videos, ``val``/``validate`` rows test
        videos; ``test`` rows (unlabelled) are ignored. Rows whose video file is
        not found are listed in ``missing``; a repeated row is used once.

    Raises
    ------
    DatasetError
        If a folder or file is missing, a CSV lacks a column, or a row is
        malformed (naming the file and line).
    """
    videos_root = Path(videos_root).expanduser()
    if not videos_root.is_dir():
        raise DatasetError(
            f"Kinetics videos folder {videos_root} does not exist (--raw-root)"
        )
    files = [annotations] if isinstance(annotations, (str, Path)) else list(annotations)
    if not files:
        raise DatasetError("Kinetics needs at least one annotation CSV (--annotations)")
    rows: list[tuple[str, str, str, str]] = []  # (class, youtube id, stem, split)
    for path in (Path(f).expanduser() for f in files):
        for line, row in _kinetics_rows(path):
            where = f"Kinetics annotation file {path}, line {line}"
            split = row["split"].lower()
            if split == "test":
                continue
            if split not in _KINETICS_SPLITS:
                raise DatasetError(
                    f"{where}: unknown split {row['split']!r} (expected train, val, "
                    "validate or test)"
                )
            if not row["label"] or not row["youtube_id"]:
                raise DatasetError(f"{where}: empty label or youtube_id")
            try:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
            except ValueError:
                raise DatasetError(
                    f"{where}: time_start/time_end must be numbers, got "
                    f"{row['time_start']!r}, {row['time_end']!r}"
                ) from None
            stem = f"{row['youtube_id']}_{start:06d}_{end:06d}"
            rows.append(
                (row["label"], row["youtube_id"], stem, _KINETICS_SPLITS[split])
            )
    classes = sorted({row[0] for row in rows})
    label_of = {name: label for label, name in enumerate(classes)}
    folders = [class_folder_name(name) for name in classes]
    if len(set(folders)) != len(folders):
        raise DatasetError(
            "two Kinetics classes map to the same folder name once spaces are "
            f"replaced by '_' (annotations: {', '.join(str(f) for f in files)})"
        )
    index = _index_videos(videos_root)
    videos: list[RawVideo] = []
    missing: list[str] = []
    seen: set[str] = set()
    for class_name, youtube_id, stem, split in rows:
        name = f"{class_folder_name(class_name)}/{stem}"
        if name in seen:
            continue
        seen.add(name)
        video_path = index.get(stem) or index.get(youtube_id)
        if video_path is None:
            missing.append(name)
        else:
            videos.append(RawVideo(video_path, name, label_of[class_name], split))
    return RawActionLayout("kinetics400", classes, videos, missing)
