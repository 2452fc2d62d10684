"""The report of a dataset folder check and the ``--check DIR`` subcommand."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from fedvideo.data.folder_check import FolderCheck, add_check_parser, with_progress


def test_a_complete_folder_reports_its_counts_and_exits_0():
    check = FolderCheck("REDS", Path("/data/REDS"))
    check.count("training clips", 236)
    check.count("HR frames", 100)
    check.count("HR frames", 23500)
    check.note("REDS4 is the test set")
    assert check.complete and check.exit_status() == 0
    assert check.report().splitlines() == [
        "REDS at /data/REDS",
        "  training clips        236",
        "  HR frames          23,600",
        "  note: REDS4 is the test set",
        "REDS folder /data/REDS is complete",
    ]


def test_problems_make_it_incomplete_and_long_lists_are_cut():
    check = FolderCheck("MPII", Path("/data/mpii"))
    for k in range(5):
        check.problem(f"image {k}.jpg is missing")
    assert not check.complete and check.exit_status() == 1
    lines = check.report(problems_shown=2).splitlines()
    assert lines[1:] == [
        "  5 problem(s):",
        "    image 0.jpg is missing",
        "    image 1.jpg is missing",
        "    ... and 3 more",
        "MPII folder /data/mpii is INCOMPLETE",
    ]


def test_progress_lines_go_to_the_stream_and_every_item_comes_through():
    stream = io.StringIO()
    items = list(with_progress(range(3), 3, "videos", every_seconds=0.0, stream=stream))
    assert items == [0, 1, 2]
    assert stream.getvalue().splitlines() == [
        "checked 0 / 3 videos",
        "checked 1 / 3 videos",
        "checked 2 / 3 videos",
    ]


def test_check_subcommand_requires_the_folder(capsys):
    parser = argparse.ArgumentParser(prog="fedvideo prepare")
    subparsers = parser.add_subparsers(dest="dataset")
    add_check_parser(subparsers, "reds", "REDS", "clips and frames")
    assert parser.parse_args(["reds", "--check", "/x"]).check == Path("/x")
    with pytest.raises(SystemExit):
        parser.parse_args(["reds"])
    assert "--check" in capsys.readouterr().err
