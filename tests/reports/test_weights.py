"""``fedvideo weights``: the aggregation weight of flagged clients per round."""

import json

import pytest

from fedvideo.cli import main
from fedvideo.reports.seeds import group_runs
from fedvideo.reports.weights import flagged_weights, weight_rows
from fedvideo.utils import CommandError


def _run(strategy: str, seed: int, bad_weights: list[float]) -> dict:
    """Runs of 4 clients with 10 examples each, client 3 flagged bad."""
    rounds = [{"round": 0, "clients": []}]
    for number, bad in enumerate(bad_weights, start=1):
        good = (1.0 - bad) / 3
        clients = [
            {"num_examples": 10, "weight": good, "metrics": {"bad_client": 0.0}}
            for _ in range(3)
        ]
        flagged = {"num_examples": 10, "weight": bad, "metrics": {"bad_client": 1.0}}
        clients.append(flagged)
        rounds.append({"round": number, "clients": clients})
    return {"config": {"strategy": strategy, "seed": seed}, "rounds": rounds}


RUNS = [
    _run("fedavg", 1, [0.25, 0.25]),
    _run("fedvsr", 1, [0.1, 0.2]),
    _run("fedavg", 2, [0.25, 0.25]),
    _run("fedvsr", 2, [0.3, 0.2]),
]


def test_flagged_weights_sum_the_flagged_clients_per_trained_round():
    rounds = flagged_weights(RUNS[1], "bad_client")
    assert list(rounds) == [1, 2]  # round 0 trained no client
    assert rounds[1] == {"weight": pytest.approx(0.1), "examples": 0.25, "flagged": 1}


def test_rows_average_over_seeds_per_round():
    rows = weight_rows(group_runs(RUNS), "bad_client")
    fedavg, fedvsr = rows
    assert fedavg["group"] == "strategy=fedavg" and fedavg["mean_weight"] == 0.25
    assert fedvsr["rounds"][1]["weight"] == pytest.approx(0.2)
    assert fedvsr["rounds"][1]["weight_std"] == pytest.approx(0.1414, abs=1e-4)
    assert fedvsr["rounds"][2]["weight_std"] == pytest.approx(0.0)
    assert fedvsr["mean_weight"] == pytest.approx(0.2)
    assert fedvsr["mean_examples"] == 0.25
    with pytest.raises(CommandError, match="no client reported noisy = 1"):
        weight_rows(group_runs(RUNS), "noisy")


def test_command_prints_the_table_and_writes_json_and_plot(tmp_path, capsys):
    paths = []
    for i, run in enumerate(RUNS):
        paths.append(tmp_path / f"run{i}.json")
        paths[-1].write_text(json.dumps(run))
    argv = ["weights", *map(str, paths), "--flag", "bad_client"]
    argv += ["--json", str(tmp_path / "w.json"), "--plot", str(tmp_path / "w.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| round | strategy=fedavg | strategy=fedvsr |" in out
    assert "| 1 | 0.250 ± 0.000 | 0.200 ± 0.141 |" in out
    assert "| example share | 0.250 | 0.250 |" in out
    assert json.loads((tmp_path / "w.json").read_text())[1]["mean_weight"] == 0.2
    assert (tmp_path / "w.png").stat().st_size > 0
