"""The repository's scripts: the GPU smoke run refuses to pretend on a CPU."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: it would run")
def test_gpu_smoke_without_a_gpu_exits_2_with_the_reason():
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_smoke.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stderr
    assert "no CUDA device" in result.stderr
