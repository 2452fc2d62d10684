"""The robustness summary of runs with lost uploads."""

import json

import pytest

from fedvideo.cli import main
from fedvideo.reports.robustness import robustness_rows, robustness_table


def _run(strategy: str, loss: float, psnr: float, lost_per_round: int) -> dict:
    rounds = [{"round": 0, "evaluation": {"psnr": 20.0}, "clients": [], "dropped": []}]
    for r in (1, 2):
        rounds.append(
            {
                "round": r,
                "evaluation": {"psnr": psnr} if r == 2 else {},
                "clients": [{}] * (4 - lost_per_round),
                "dropped": [{"injected": True}] * lost_per_round,
                "skipped": "0 accepted replies" if lost_per_round == 4 else None,
                "round_seconds": 1.0,
            }
        )
    config = {"strategy": strategy, "reliability.upload-loss": loss}
    return {"config": config, "rounds": rounds, "status": "completed"}


def test_rows_have_drops_against_the_lossless_run_of_the_same_strategy():
    runs = [
        _run("fedvsr", 0.5, 21.5, 2),
        _run("fedavg", 0.0, 22.0, 0),
        _run("fedavg", 0.5, 21.0, 2),
        _run("fedvsr", 0.0, 22.1, 0),
        _run("fedvsr", 1.0, 20.0, 4),
    ]
    rows = robustness_rows(runs)
    assert [(r["strategy"], r["upload_loss"]) for r in rows] == [
        ("fedavg", 0.0),
        ("fedavg", 0.5),
        ("fedvsr", 0.0),
        ("fedvsr", 0.5),
        ("fedvsr", 1.0),
    ]
    assert rows[1]["drop"] == pytest.approx(-1.0)
    assert rows[3]["drop"] == pytest.approx(-0.6)
    assert rows[1]["lost_uploads"] == 4 and rows[1]["sent_uploads"] == 8
    assert rows[4]["skipped_rounds"] == 2 and rows[0]["skipped_rounds"] == 0
    table = robustness_table(rows)
    assert "| 50% | 21.000 | -1.000 | 4/8 | 21.500 | -0.600 | 4/8 |" in table
    assert "| 100% |  |  |  | 20.000 | -2.100 | 8/8 |" in table


def test_duplicate_runs_are_refused():
    with pytest.raises(ValueError, match="two runs of strategy fedavg"):
        robustness_rows([_run("fedavg", 0.25, 21, 1), _run("fedavg", 0.25, 21, 1)])


def test_main_writes_json_and_plot(tmp_path, capsys):
    paths = []
    for i, run in enumerate([_run("fedavg", 0.0, 22, 0), _run("fedavg", 0.25, 21, 1)]):
        path = tmp_path / f"run{i}" / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(run))
        paths.append(str(path.parent))
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    assert (
        main(["robustness", *paths, "--json", str(out_json), "--plot", str(out_png)])
        == 0
    )
    assert json.loads(out_json.read_text())[1]["drop"] == pytest.approx(-1.0)
    assert out_png.stat().st_size > 0
    assert "| 25% | 21.000 | -1.000 | 2/8 |" in capsys.readouterr().out
