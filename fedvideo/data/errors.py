"""The one exception type raised for every data problem, and checked inputs."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DatasetError",
    "read_json_file",
    "require_empty_folder",
    "require_int",
    "seed_sequence",
]


class DatasetError(ValueError):
    """A dataset, file, folder or data setting is missing or invalid.

    The message always names the offending path or setting, so that a user can
    fix the problem without reading a traceback.
    """


def require_int(value: object, key: str, minimum: int) -> int:
    """Return ``value`` as an int, or raise naming the setting ``key``.

    Parameters
    ----------
    value : object
        The value to check (``bool`` is rejected).
    key : str
        The setting's name as the user knows it, e.g. ``"vsr.gt-crop"``.
    minimum : int
        The smallest allowed value.

    Raises
    ------
    DatasetError
        If ``value`` is not an integer or is smaller than ``minimum``.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)  # type: ignore[call-overload]
    except TypeError:
        raise DatasetError(f"{key} must be an integer, got {value!r}") from None
    if number < minimum:
        raise DatasetError(f"{key} must be >= {minimum}, got {number}")
    return number


def require_empty_folder(path: str | Path, what: str) -> Path:
    """Return ``path`` if it does not exist or is an empty folder.

    Raises
    ------
    DatasetError
        If ``path`` is a file or a non-empty folder; ``what`` names what was
        about to be written there.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise DatasetError(
            f"output folder {path} already exists and is not empty; "
            f"choose a new folder for {what}"
        )
    return path


def read_json_file(path: str | Path, what: str) -> Any:
    """Parse the JSON file ``path``; ``what`` names it in error messages.

    Raises
    ------
    DatasetError
        If the file does not exist, cannot be read or is not valid JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read {what} {path}: {err}") from err
    except json.JSONDecodeError as err:
        raise DatasetError(f"{what} {path} is not valid JSON: {err}") from err


def seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Return a fresh SeedSequence for ``seed`` (the caller's is not mutated).

    Raises
    ------
    DatasetError
        If ``seed`` is neither a SeedSequence nor a non-negative integer.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
    return np.random.SeedSequence(require_int(seed, "seed", 0))
