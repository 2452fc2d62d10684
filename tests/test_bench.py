"""The benchmarks run and print one JSON line with their figures (no timing checks)."""

import json

from fedvideo.bench.__main__ import main


def test_ssl_step_benchmark_prints_json(capsys):
    argv = ["ssl-step", "--crop-size", "32", "--batch-size", "1", "--repeats", "1"]
    assert main([*argv, "--warmup", "0", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "ssl-step" and result["batch"] == [1, 3, 16, 32, 32]
    assert result["step_ms"] > 0 and result["clip_prep_ms"] > 0
