"""The app bundle (FAB) that `flwr run` ships: small, Hub-sized, and enough to run.

``[tool.flwr.app] fab-include`` / ``fab-exclude`` in pyproject.toml choose its
files; docs/flower-hub.md explains the choice.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: "≤ 1 MB", read strictly (Flower's own checks use 1 MiB = 1,048,576 bytes).
MAX_BYTES = 1_000_000
#: The file types Flower Hub accepts (its publishing guide): .py, .toml, .md and a
#: root-level LICENSE. ``.info/CONTENT`` is the manifest ``flwr build`` adds.
HUB_FILE_PATTERNS = ("*.py", "*.toml", "*.md")
HUB_ROOT_FILES = ("LICENSE", ".info/CONTENT")

pytestmark = pytest.mark.skipif(
    shutil.which("flwr") is None, reason="the flwr CLI is not on the PATH"
)


@pytest.fixture(scope="module")
def fab(tmp_path_factory) -> Path:
    """The FAB ``flwr build`` makes of this checkout."""
    out = tmp_path_factory.mktemp("fab")
    built = subprocess.run(
        ["flwr", "build", "--app", str(REPO)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("*.fab")
    return path


def _hub_accepts(name: str) -> bool:
    if name in HUB_ROOT_FILES:
        return True
    return any(fnmatch.fnmatch(Path(name).name, p) for p in HUB_FILE_PATTERNS)


def test_fab_is_at_most_1_mb_of_hub_accepted_files(fab):
    with zipfile.ZipFile(fab) as bundle:
        members = bundle.infolist()
    assert fab.stat().st_size <= MAX_BYTES, f"{fab.stat().st_size:,} bytes"
    assert [m.filename for m in members if m.file_size > MAX_BYTES] == []
    assert [m.filename for m in members if not _hub_accepts(m.filename)] == []


def test_fab_holds_the_app_not_results_tests_or_scripts(fab):
    with zipfile.ZipFile(fab) as bundle:
        names = bundle.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {
        "fedvideo",
        "conf",
        ".info",
        "pyproject.toml",
        "README.md",
        "LICENSE",
    }
    assert "fedvideo/server_app.py" in names and "fedvideo/client_app.py" in names
    presets = {p.relative_to(REPO).as_posix() for p in REPO.glob("conf/**/*.toml")}
    assert presets <= set(names)


def test_apps_and_every_task_import_from_the_fab_alone(fab, tmp_path):
    """Nothing the ServerApp, the ClientApp or a task imports was left out."""
    with zipfile.ZipFile(fab) as bundle:
        bundle.extractall(tmp_path)
    script = (
        "import importlib, json, fedvideo, fedvideo.server_app, fedvideo.client_app\n"
        "from fedvideo.tasks import TASKS\n"
        "for target in TASKS.values():\n"
        "    importlib.import_module(target.split(':')[0])\n"
        "print(json.dumps(fedvideo.__file__))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    imported_from = Path(json.loads(ran.stdout.strip().splitlines()[-1]))
    assert imported_from.is_relative_to(tmp_path)
