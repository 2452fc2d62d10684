"""End-to-end tests of the dataset_preparation.py command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dataset_preparation as cli
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS

SCRIPT = Path(__file__).resolve().parents[3] / "dataset_preparation.py"


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "synthetic-reds"
    argv = ["synthetic-vsr", "--out", str(root), "--videos", "6", "--frames", "3"]
    argv += ["--height", "32", "--width", "32", "--seed", "9"]
    assert cli.main(argv) == 0
    return root


def test_synthetic_vsr_writes_reds_layout(synthetic_root):
    clips = sorted(p.name for p in (synthetic_root / "train_sharp").iterdir())
    train = ["001", "002", "003", "004", "005", "006"]
    assert clips == sorted(train + list(REDS4_CLIPS))
    lr_clip = synthetic_root / "train_sharp_bicubic" / "X4" / "015"
    assert sorted(p.name for p in lr_clip.iterdir()) == [
        "00000000.png",
        "00000001.png",
        "00000002.png",
    ]


def run_vsr(root: Path, out: Path, *extra: str) -> dict:
    argv = ["vsr", "--data-root", str(root), "--out", str(out), *extra]
    assert cli.main(argv) == 0
    return json.loads(out.read_text())


def test_vsr_iid_partition_file(synthetic_root, tmp_path, capsys):
    document = run_vsr(
        synthetic_root, tmp_path / "p.json", "--num-clients", "3", "--scheme", "iid"
    )
    partitions = document["partitions"]
    assert partitions == [["001", "002"], ["003", "004"], ["005", "006"]]
    assert not {name for part in partitions for name in part} & set(REDS4_CLIPS)
    assert document["meta"]["scheme"] == "iid"
    assert document["meta"]["num_partitions"] == 3
    output = capsys.readouterr().out
    assert "3 clients" in output and "clips per client: [2, 2, 2]" in output


def test_vsr_quantity_skew(synthetic_root, tmp_path):
    document = run_vsr(
        synthetic_root,
        tmp_path / "q.json",
        "--num-clients",
        "3",
        "--scheme",
        "quantity-skew",
        "--alpha",
        "1.0",
    )
    sizes = [len(part) for part in document["partitions"]]
    assert sum(sizes) == 6 and sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert document["meta"]["alpha"] == 1.0


def test_vsr_by_class(synthetic_root, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("clip,label\n001,a\n002,b\n003,a\n004,c\n005,b\n006,c\n")
    document = run_vsr(
        synthetic_root,
        tmp_path / "c.json",
        "--num-clients",
        "3",
        "--scheme",
        "by-class",
        "--labels",
        str(labels),
    )
    assert document["partitions"] == [["001", "003"], ["002", "005"], ["004", "006"]]


def test_errors_go_to_stderr_with_the_path(tmp_path, capsys):
    missing = tmp_path / "no-such-dataset"
    argv = ["vsr", "--data-root", str(missing), "--num-clients", "2"]
    argv += ["--scheme", "iid", "--out", str(tmp_path / "p.json")]
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert "does not exist" in error and str(missing) in error


def test_by_class_without_labels_is_an_error(synthetic_root, tmp_path, capsys):
    argv = ["vsr", "--data-root", str(synthetic_root), "--num-clients", "2"]
    argv += ["--scheme", "by-class", "--out", str(tmp_path / "p.json")]
    assert cli.main(argv) == 2
    assert "--labels" in capsys.readouterr().err


def test_too_many_clients_is_an_error(synthetic_root, tmp_path, capsys):
    argv = ["vsr", "--data-root", str(synthetic_root), "--num-clients", "7"]
    argv += ["--scheme", "iid", "--out", str(tmp_path / "p.json")]
    assert cli.main(argv) == 2
    assert "num-partitions=7" in capsys.readouterr().err


def test_script_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        cwd=SCRIPT.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "synthetic-vsr" in result.stdout and "vsr" in result.stdout
