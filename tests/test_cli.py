"""The ``fedvideo`` command: its commands, errors, and the module entry points."""

import subprocess
import sys
from pathlib import Path

import pytest

from fedvideo.cli import TOOLS, main

REPO = Path(__file__).resolve().parent.parent


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ["prepare", *TOOLS]:
        assert command in out


def test_prepare_gathers_the_subcommands_of_every_task(capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    out = capsys.readouterr().out
    for dataset in ("vsr", "synthetic-vsr", "ssl", "synthetic-ssl", "pose"):
        assert dataset in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_missing_dataset_is_reported_without_a_traceback(tmp_path, capsys):
    argv = ["prepare", "vsr", "--data-root", str(tmp_path / "REDS")]
    argv += ["--num-clients", "2", "--scheme", "iid", "--out", str(tmp_path / "p.json")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("fedvideo prepare: error:") and "REDS" in error


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "fedvideo.bench", "vsr-step", "--help"],
        [sys.executable, "dataset_preparation.py", "pose", "--help"],
    ],
    ids=["python -m fedvideo.bench", "dataset_preparation.py"],
)
def test_module_entry_points_reach_the_same_commands(command):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
