import json

import pytest

from fedvideo.compare_pose import main


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
    assert main([str(a), str(b), "--labels", "FedAvg", "RAF", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "| test resolution | FedAvg | RAF |" in out
    assert "| 32x24 (unseen) | 10.0 | 20.0 |" in out
    assert "| 64x48 (seen) | 50.0 | 55.5 |" in out
    assert plot.stat().st_size > 0
    main([str(a), "--metric", "PCKh@0.1"])
    assert "| 64x48 (seen) | 12.5 |" in capsys.readouterr().out


def test_missing_sweep_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="resolution_sweep.json"):
        main([str(tmp_path)])
