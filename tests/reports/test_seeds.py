"""``fedvideo seeds``: runs grouped over seeds, mean ± std of final metrics."""

import json
import math

import pytest

from fedvideo.cli import main
from fedvideo.reports.seeds import (
    gain_metrics,
    group_runs,
    paired_rows,
    seed_rows,
    with_client_means,
    with_round_gains,
)
from fedvideo.utils import CommandError


def _run(strategy: str, seed: int, psnr: float, fine: float) -> dict:
    evaluation = {
        "psnr": psnr,
        "psnr_bicubic": 21.0,
        "psnr fine": fine,
        "psnr_bicubic fine": 18.0,
        "ssim": 0.7 + seed / 100,
        "ssim_bicubic": 0.6,
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


def test_a_setting_added_later_counts_with_its_default():
    older = _run("fedavg", 3, 22.1, 19.1)  # recorded before the key existed
    newer = _run("fedavg", 4, 22.3, 19.3)
    newer["config"]["vsr.video-max-frames"] = 30  # the default
    other = _run("fedavg", 5, 22.3, 19.3)
    other["config"]["vsr.video-max-frames"] = 10
    groups = group_runs([older, newer, other])
    assert [len(g) for g in groups.values()] == [2, 1]
    assert list(groups) == ["vsr.video-max-frames=30", "vsr.video-max-frames=10"]


def test_rows_hold_mean_sample_std_and_values():
    (fedavg, fedvsr) = seed_rows(group_runs(RUNS), ["psnr"])
    assert fedavg["psnr"]["mean"] == pytest.approx(22.1)
    assert fedavg["psnr"]["std"] == pytest.approx(math.sqrt(0.02))
    assert fedvsr["psnr"]["values"] == [22.5, 22.1]
    assert fedvsr["seeds"] == [1, 2]
    (single,) = seed_rows(group_runs(RUNS[:1]), ["psnr"])
    assert math.isnan(single["psnr"]["std"])


def test_a_baseline_belongs_to_its_metric_and_domains():
    metrics = ["psnr", "ssim", "psnr fine", "ssim fine"]
    assert gain_metrics(metrics, "psnr_bicubic") == ["psnr", "psnr fine"]
    assert gain_metrics(metrics, "ssim_bicubic") == ["ssim", "ssim fine"]


def test_command_writes_table_json_and_plot(tmp_path, capsys):
    paths = []
    for i, run in enumerate(RUNS):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps(run))
        paths.append(str(folder))
    out_json, out_png = tmp_path / "rows.json", tmp_path / "bars.png"
    argv = ["seeds", *paths, "--metrics", "psnr", "psnr fine", "ssim"]
    argv += ["--baseline-metric", "psnr_bicubic", "--json", str(out_json)]
    assert main([*argv, "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "| psnr fine - psnr_bicubic |" in out
    assert "ssim - psnr_bicubic" not in out  # not its baseline
    assert "| strategy=fedavg | 2 | 22.100 ± 0.141 |" in out
    rows = json.loads(out_json.read_text())
    gain = rows[1]["psnr fine - psnr_bicubic"]
    assert gain["mean"] == pytest.approx(1.3)  # (1.5 + 1.1) / 2, per-domain baseline
    assert out_png.stat().st_size > 0


def test_paired_rows_subtract_the_reference_run_of_the_same_seed():
    runs = [*RUNS, _run("fedvsr", 3, 30.0, 20.0)]  # seed 3 has no FedAvg partner
    (row,) = paired_rows(runs, ["psnr", "psnr fine"], "strategy", "fedavg")
    assert row["group"] == "all runs" and row["pairs"] == 2
    assert row["seeds"] == [1, 2]
    assert row["psnr"]["values"] == pytest.approx([0.5, -0.1])  # 22.5-22.0, 22.1-22.2
    assert row["psnr"]["mean"] == pytest.approx(0.2)
    assert row["psnr fine"]["std"] == pytest.approx(math.sqrt(0.18))
    assert paired_rows(runs, ["psnr"], "strategy", "fedprox") == []


def test_paired_values_match_numbers_written_either_way():
    weighted = [_run("fedvsr", 1, 22.0, 19.0), _run("fedvsr", 1, 22.4, 19.0)]
    weighted[0]["config"]["vsr.hifr-weight"] = 0.0
    weighted[1]["config"]["vsr.hifr-weight"] = 1.0
    (row,) = paired_rows(weighted, ["psnr"], "vsr.hifr-weight", "0")
    assert row["psnr"]["values"] == pytest.approx([0.4])


def test_command_prints_and_writes_the_paired_table(tmp_path, capsys):
    paths = []
    for i, run in enumerate(RUNS):
        (tmp_path / f"run{i}.json").write_text(json.dumps(run))
        paths.append(str(tmp_path / f"run{i}.json"))
    out_json = tmp_path / "rows.json"
    argv = ["seeds", *paths, "--metrics", "psnr", "--paired", "strategy=fedavg"]
    assert main([*argv, "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "Difference to the run with strategy=fedavg and the same seed" in out
    assert "| all runs | 2 | 0.200 ± 0.424 |" in out
    written = json.loads(out_json.read_text())
    assert written["paired_with"] == "strategy=fedavg"
    assert written["differences"][0]["pairs"] == 2
    assert main(["seeds", *paths, "--paired", "strategy"]) == 2


def test_round_gains_hold_the_initial_value_and_the_final_gain():
    run = with_round_gains(RUNS[1], ["psnr"], 0)
    final = run["rounds"][-1]["evaluation"]
    assert final["psnr round 0"] == 21.0
    assert final["psnr - round 0"] == pytest.approx(1.5)
    assert RUNS[1]["rounds"][-1]["evaluation"].keys().isdisjoint({"psnr round 0"})
    with pytest.raises(
        CommandError, match="seed 1 has no evaluation of psnr at round 2"
    ):
        with_round_gains(RUNS[1], ["psnr"], 2)


def test_command_reports_the_gain_over_round_zero(tmp_path, capsys):
    paths = []
    for i, run in enumerate(RUNS[:2]):
        (tmp_path / f"run{i}.json").write_text(json.dumps(run))
        paths.append(str(tmp_path / f"run{i}.json"))
    assert main(["seeds", *paths, "--metrics", "psnr", "--gain-over-round", "0"]) == 0
    out = capsys.readouterr().out
    assert "| psnr | psnr round 0 | psnr - round 0 |" in out
    row = "| strategy=fedvsr | 1 | 22.500 (1 run) | 21.000 (1 run) | 1.500 (1 run) |"
    assert row in out  # one run has no spread: no "± nan"


def test_gain_over_round_takes_the_given_metrics_beside_a_baseline(tmp_path, capsys):
    run = _run("fedavg", 1, 22.0, 19.0)
    run["rounds"][0]["evaluation"] = {"psnr": 20.0}  # no bicubic score at round 0
    (tmp_path / "run.json").write_text(json.dumps(run))
    argv = ["seeds", str(tmp_path / "run.json"), "--metrics", "psnr"]
    argv += ["--baseline-metric", "psnr_bicubic", "--gain-over-round", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| psnr | psnr - psnr_bicubic | psnr round 0 | psnr - round 0 |" in out
    assert (
        "| all runs | 1 | 22.000 (1 run) | 1.000 (1 run) | 20.000 (1 run) "
        "| 2.000 (1 run) |" in out
    )


def _with_drift(run: dict, norms: list[list[float]]) -> dict:
    """``run`` whose clients reported these update norms, one list per round."""
    rounds = [dict(entry) for entry in run["rounds"]]
    for entry, round_norms in zip(rounds, norms, strict=True):
        entry["clients"] = [{"metrics": {"update_norm": n}} for n in round_norms]
    return {**run, "rounds": rounds}


def test_client_means_average_every_client_report_up_to_each_round():
    run = _with_drift(RUNS[0], [[], [1.0, 2.0]])
    unevaluated = {"round": 1, "clients": [{"metrics": {"update_norm": 6.0}}]}
    run["rounds"].insert(1, unevaluated)
    means = with_client_means(run, ["update_norm"])
    assert means["rounds"][1]["evaluation"] == {}  # not an evaluated round
    assert means["rounds"][-1]["evaluation"]["update_norm (client mean)"] == 3.0
    assert "update_norm (client mean)" not in run["rounds"][-1]["evaluation"]
    with pytest.raises(CommandError, match="seed 1 reported proximal"):
        with_client_means(run, ["proximal"])


def test_paired_ratio_divides_by_the_reference_run_of_the_same_seed(tmp_path, capsys):
    drift = {("fedavg", 1): 2.0, ("fedprox", 1): 1.0, ("fedavg", 2): 4.0}
    drift[("fedprox", 2)] = 3.0
    paths = []
    for i, ((strategy, seed), norm) in enumerate(drift.items()):
        run = _with_drift(_run(strategy, seed, 22.0, 19.0), [[], [norm, norm]])
        (tmp_path / f"run{i}.json").write_text(json.dumps(run))
        paths.append(str(tmp_path / f"run{i}.json"))
    argv = ["seeds", *paths, "--metrics", "psnr", "--client-metrics", "update_norm"]
    argv += ["--paired", "strategy=fedavg", "--ratio", "--json", str(tmp_path / "r")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Ratio to the run with strategy=fedavg and the same seed" in out
    assert "| all runs | 2 | 1.000 ± 0.000 | 0.625 ± 0.177 |" in out  # 1/2, 3/4
    written = json.loads((tmp_path / "r").read_text())
    assert written["paired_as"] == "ratio"


def test_other_tasks_settings_do_not_split_a_group():
    older, newer = _run("fedavg", 1, 22.0, 19.0), _run("fedvsr", 1, 22.4, 19.0)
    older["config"].update({"task": "vsr", "ssl.lr": 0.01})  # the ssl default then
    newer["config"].update({"task": "vsr", "ssl.lr": 0.0})
    assert list(group_runs([older, newer])) == ["strategy=fedavg", "strategy=fedvsr"]
    (row,) = paired_rows([older, newer], ["psnr"], "strategy", "fedavg")
    assert row["psnr"]["values"] == pytest.approx([0.4])
    newer["config"]["vsr.lr"] = 0.5  # the task's own settings still do
    assert len(paired_rows([older, newer], ["psnr"], "strategy", "fedavg")) == 0


def test_an_integer_and_an_equal_float_are_one_setting():
    as_int, as_float = _run("fedvsr", 1, 22.0, 19.0), _run("fedvsr", 2, 22.4, 19.0)
    as_int["config"]["fedvssl.alpha"] = 1
    as_float["config"]["fedvssl.alpha"] = 1.0
    assert list(group_runs([as_int, as_float])) == ["all runs"]
    as_float["config"]["fedvssl.alpha"] = 0.9
    # a label shows the value as its group's first run wrote it
    assert list(group_runs([as_int, as_float])) == [
        "fedvssl.alpha=1",
        "fedvssl.alpha=0.9",
    ]
