"""``fedvideo compare``: the table and plot of finished runs."""

import json

from fedvideo.cli import main


def test_compare_table_and_plot(tmp_path, capsys):
    for name, final in (("a", 23.0), ("b", 23.5)):
        run = tmp_path / name
        run.mkdir()
        rounds = [
            {
                "round": r,
                "round_seconds": 10.0,
                "evaluation": {
                    "psnr": final - 1 + r / 2,
                    "psnr_bicubic": 22.0,
                    "ssim": 0.6,
                    "ssim_bicubic": 0.59,
                },
            }
            for r in range(3)
        ]
        (run / "results.json").write_text(
            json.dumps({"rounds": rounds, "status": "completed"})
        )
    plot = tmp_path / "cmp.png"
    status = main(
        [
            "compare",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--labels",
            "A",
            "B",
            "--plot",
            str(plot),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "| A | 2 | 23.000 | 0.6000 | 22.000 | 0.5900 | +1.000 | 30 |" in out
    assert "| B | 2 | 23.500 |" in out
    assert plot.stat().st_size > 0


def test_a_file_that_is_not_a_run_is_named_in_the_error(tmp_path, capsys):
    table = tmp_path / "seeds.json"
    table.write_text(json.dumps([{"group": "a", "runs": 2}]))
    broken = tmp_path / "cut.json"
    broken.write_text('{"rounds": [')
    for path in (table, broken):
        assert main(["compare", str(path)]) == 2
        assert str(path) in capsys.readouterr().err
