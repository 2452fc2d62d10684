import json

from fedvideo.cli import main


def _sweep(path, scores):
    sweep = {
        res: {
            "PCKh@0.5": {"per_joint": [value] * 16, "mean": value},
            "PCKh@0.1": {"per_joint": [value / 4] * 16, "mean": value / 4},
        }
        for res, value in scores.items()
    }
    path.mkdir()
    document = {"joints": [], "seen_resolutions": ["64x48"], "sweep": sweep}
    (path / "resolution_sweep.json").write_text(json.dumps(document))
    return path


def test_table_and_plot(tmp_path, capsys):
    a = _sweep(tmp_path / "a", {"32x24": 10.0, "64x48": 50.0})
    b = _sweep(tmp_path / "b", {"32x24": 20.0, "64x48": 55.5})
    plot = tmp_path / "sweep.png"
    assert (
        main(
            [
                "compare-pose",
                str(a),
                str(b),
                "--labels",
                "FedAvg",
                "RAF",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| test resolution | FedAvg | RAF |" in out
    assert "| 32x24 (unseen) | 10.0 | 20.0 |" in out
    assert "| 64x48 (seen) | 50.0 | 55.5 |" in out
    assert plot.stat().st_size > 0
    assert main(["compare-pose", str(a), "--metric", "PCKh@0.1"]) == 0
    assert "| 64x48 (seen) | 12.5 |" in capsys.readouterr().out


def test_missing_sweep_is_named(tmp_path, capsys):
    assert main(["compare-pose", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fedvideo compare-pose: error:")
    assert "resolution_sweep.json" in error


def test_labels_must_match_the_runs(tmp_path, capsys):
    a = _sweep(tmp_path / "a", {"64x48": 50.0})
    assert main(["compare-pose", str(a), "--labels", "x", "y"]) == 2
    assert "one label per run" in capsys.readouterr().err
