"""What a check of a downloaded dataset folder found, and how it is reported.

``fedvideo prepare <dataset> --check DIR`` walks a folder in the layout fedvideo
reads and reports what it found (clips, videos, people, frames) and every file
that is missing or unreadable, without training anything. Each task's data
package does the walking and fills a :class:`FolderCheck`; this module prints it
and turns it into the command's exit status: 0 only for a complete folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

__all__ = ["FolderCheck", "add_check_parser", "print_report", "with_progress"]

Item = TypeVar("Item")

#: Problems printed in full; the rest are counted.
PROBLEMS_SHOWN = 20


@dataclass
class FolderCheck:
    """The findings of one dataset folder check.

    Attributes
    ----------
    dataset : str
        The dataset's name as people write it (``"REDS"``, ``"UCF-101"``).
    root : Path
        The folder checked.
    counts : dict[str, int]
        What was found, in the order it was counted (``"HR frames": 24000``).
    notes : list[str]
        Facts worth knowing that do not make the folder incomplete (for
        example that the REDS4 clips are kept out of training).
    problems : list[str]
        Everything missing or unreadable, each naming the file or folder.
    """

    dataset: str
    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self, what: str, number: int = 1) -> None:
        """Add ``number`` to the count of ``what``."""
        self.counts[what] = self.counts.get(what, 0) + number

    def note(self, text: str) -> None:
        """Record a fact that does not make the folder incomplete."""
        self.notes.append(text)

    def problem(self, text: str) -> None:
        """Record something missing or unreadable."""
        self.problems.append(text)

    @property
    def complete(self) -> bool:
        """Whether nothing is missing or unreadable."""
        return not self.problems

    def exit_status(self) -> int:
        """0 for a complete folder, 1 otherwise."""
        return 0 if self.complete else 1

    def report(self, problems_shown: int = PROBLEMS_SHOWN) -> str:
        """Write the findings as text: counts, notes, problems and the verdict.

        Parameters
        ----------
        problems_shown : int
            Problems listed one per line; the rest are counted.
        """
        lines = [f"{self.dataset} at {self.root}"]
        width = max((len(what) for what in self.counts), default=0)
        lines += [f"  {what:<{width}}  {n:>9,}" for what, n in self.counts.items()]
        lines += [f"  note: {text}" for text in self.notes]
        if self.problems:
            lines.append(f"  {len(self.problems):,} problem(s):")
            lines += [f"    {text}" for text in self.problems[:problems_shown]]
            if len(self.problems) > problems_shown:
                lines.append(
                    f"    ... and {len(self.problems) - problems_shown:,} more"
                )
            lines.append(f"{self.dataset} folder {self.root} is INCOMPLETE")
        else:
            lines.append(f"{self.dataset} folder {self.root} is complete")
        return "\n".join(lines)


def with_progress(
    items: Iterable[Item],
    total: int,
    what: str,
    every_seconds: float = 10.0,
    stream: TextIO | None = None,
) -> Iterator[Item]:
    """Yield ``items``, printing ``checked i / total <what>`` every few seconds.

    Parameters
    ----------
    items : Iterable
        The items to go through (files to check).
    total : int
        How many there are.
    what : str
        Their name in the progress line (``"videos"``).
    every_seconds : float
        Time between two progress lines.
    stream : TextIO or None
        Where to print; standard error by default.
    """
    stream = sys.stderr if stream is None else stream
    last = time.monotonic()
    for done, item in enumerate(items):
        now = time.monotonic()
        if now - last >= every_seconds:
            print(f"checked {done:,} / {total:,} {what}", file=stream, flush=True)
            last = now
        yield item


def add_check_parser(
    subparsers: argparse._SubParsersAction, name: str, dataset: str, holds: str
) -> argparse.ArgumentParser:
    """Add the ``fedvideo prepare <name> --check DIR`` subcommand of a dataset.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The subcommands of ``fedvideo prepare``.
    name : str
        The subcommand (``"reds"``).
    dataset : str
        The dataset's name in the help (``"REDS"``).
    holds : str
        What the report counts (``"clips and frames"``).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser, with ``--check DIR``; add the dataset's own
        options and ``run`` to it.
    """
    parser = subparsers.add_parser(
        name,
        help=f"check a downloaded {dataset} folder (--check DIR)",
        description=(
            f"Check a downloaded {dataset} folder without training anything: print "
            f"the {holds} it holds and every missing or unreadable file. The exit "
            "status is 0 only for a complete folder (docs/datasets.md)."
        ),
    )
    parser.add_argument(
        "--check", required=True, type=Path, metavar="DIR", help=f"the {dataset} folder"
    )
    return parser


def print_report(check: FolderCheck) -> int:
    """Print ``check``'s report and return the command's exit status."""
    print(check.report(), flush=True)
    return check.exit_status()
