"""``fedvideo seeds``: runs grouped over seeds, mean ± std of final metrics."""

import json
import math

import pytest

from fedvideo.cli import main
from fedvideo.reports.seeds import group_runs, seed_rows


def _run(strategy: str, seed: int, psnr: float, fine: float) -> dict:
    evaluation = {
        "psnr": psnr,
        "psnr_bicubic": 21.0,
        "psnr fine": fine,
        "psnr_bicubic fine": 18.0,
    }
    return {
        "config": {"strategy": strategy, "seed": seed, "output-dir": f"out{seed}"},
        "status": "completed",
        "rounds": [
            {"round": 0, "evaluation": {k: 21.0 for k in evaluation}},
            {"round": 3, "evaluation": evaluation},
        ],
    }


RUNS = [
    _run("fedavg", 1, 22.0, 19.0),
    _run("fedvsr", 1, 22.5, 19.5),
    _run("fedavg", 2, 22.2, 19.2),
    _run("fedvsr", 2, 22.1, 19.1),
]


def test_runs_group_by_everything_but_the_seed():
    groups = group_runs(RUNS)
    assert list(groups) == ["strategy=fedavg", "strategy=fedvsr"]
    assert [len(g) for g in groups.values()] == [2, 2]
    assert list(group_runs(RUNS[:1])) == ["all runs"]


def test_rows_hold_mean_sample_std_and_values():
    (fedavg, fedvsr) = seed_rows(group_runs(RUNS), ["psnr"])
    assert fedavg["psnr"]["mean"] == pytest.approx(22.1)
    assert fedavg["psnr"]["std"] == pytest.approx(math.sqrt(0.02))
    assert fedvsr["psnr"]["values"] == [22.5, 22.1]
    assert fedvsr["seeds"] == [1, 2]
    (single,) = seed_rows(group_runs(RUNS[:1]), ["psnr"])
    assert math.isnan(single["psnr"]["std"])


def test_command_writes_table_json_and_plot(tmp_path, capsys):
    paths = []
    for i, run in enumerate(RUNS):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps(run))
        paths.append(str(folder))
    out_json, out_png = tmp_path / "rows.json", tmp_path / "bars.png"
    argv = ["seeds", *paths, "--metrics", "psnr", "psnr fine"]
    argv += ["--baseline-metric", "psnr_bicubic", "--json", str(out_json)]
    assert main([*argv, "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "| group | runs | psnr | psnr fine | psnr - psnr_bicubic |" in out
    assert "| strategy=fedavg | 2 | 22.100 ± 0.141 |" in out
    rows = json.loads(out_json.read_text())
    gain = rows[1]["psnr fine - psnr_bicubic"]
    assert gain["mean"] == pytest.approx(1.3)  # (1.5 + 1.1) / 2, per-domain baseline
    assert out_png.stat().st_size > 0
