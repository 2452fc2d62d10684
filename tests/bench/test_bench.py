"""The benchmarks run and print one JSON line with their figures (no timing checks)."""

import argparse
import json

import numpy as np
import pytest
from safetensors.torch import load_file

from fedvideo.cli import main as fedvideo_main
from fedvideo.tasks.ssl.bench import ctp_probe
from fedvideo.tasks.ssl.models.r3d import R3DBackbone


def main(argv):
    return fedvideo_main(["bench", *argv])


def test_ssl_step_benchmark_prints_json(capsys):
    argv = ["ssl-step", "--crop-size", "32", "--batch-size", "1", "--repeats", "1"]
    assert main([*argv, "--warmup", "0", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "ssl-step" and result["batch"] == [1, 3, 16, 32, 32]
    assert result["step_ms"] > 0 and result["clip_prep_ms"] > 0


@pytest.mark.slow  # eight Python processes, each importing torch
def test_contention_benchmark_measures_every_policy_idle_and_busy(capsys):
    argv = ["contention", "--batch-size", "1", "--num-frames", "2", "--gt-crop", "16"]
    argv += ["--threads", "1", "--repeats", "1", "--warmup", "0", "--rounds", "1"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "contention" and result["threads"] == 1
    for policy in ("default", "passive", "adaptive"):
        assert result[f"{policy}_idle_ms"] > 0 and result[f"{policy}_busy_ms"] > 0
        assert result[f"{policy}_busy_slowdown"] > 0
    assert result["passive_vs_default_idle"] > 0
    assert result["adaptive_busy_vs_default_idle"] > 0
    # one thread allowed: adapting can only keep it
    assert result["adaptive_threads_idle"] == result["adaptive_threads_busy"] == [1]


def _tiny_ctp_probe(out_dir, steps: int, *options: str) -> list[str]:
    """Arguments of a ctp-probe on 6 videos of 16 frames (4 in the gallery), 32 px."""
    return [
        "ctp-probe", "--classes", "2", "--train-per-class", "2",
        "--extra-pretrain-per-class", "1",
        "--test-per-class", "1", "--video-frames", "16", "--video-size", "37",
        "--crop-size", "32", "--batch-size", "2", "--steps", str(steps),
        "--log-every", "2", "--probe-clips", "2", "--eval-clips", "1",
        "--device", "cpu", "--out-dir", str(out_dir), *options,
    ]  # fmt: skip


def test_ctp_probe_trains_scores_and_writes_its_outputs(capsys, tmp_path):
    options = ["--paste-prob", "1", "--min-opacity", "1", "--soft-edge-prob", "0"]
    argv = _tiny_ctp_probe(tmp_path, 3, *options, "--head-init-std", "0.002")
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "ctp-probe" and result["steps_done"] == 3
    assert result["pretraining_videos"] == 6 and result["queries"] == 2
    settings = result["settings"]
    assert settings["paste_prob"] == settings["min_opacity"] == 1.0
    assert settings["soft_edge_prob"] == 0.0 and settings["head_init_std"] == 0.002
    assert not result["stopped_early"] and result["settings"]["crop_size"] == 32
    # A fresh CtP head predicts (almost) no motion.
    assert result["loss_start"] == pytest.approx(result["loss_no_motion"], rel=0.01)
    assert result["loss_no_motion"] > 0 and result["queries"] == 2
    # R@1 is the mean over three retrieval sets (the training set's and two more).
    assert result["retrieval_seeds"] == 3
    per_seed = result["r1_trained_per_seed"]
    assert len(per_seed) == 3 and result["r1_trained"] == pytest.approx(
        sum(per_seed) / 3, abs=0.01
    )
    for key in ("r1_random", "r1_trained", "minutes", "loss_end"):
        assert result[key] >= 0
    saved = json.loads((tmp_path / "probe.json").read_text())
    assert [c["step"] for c in saved["curve"]] == [2, 3]
    assert (tmp_path / "probe_loss.png").stat().st_size > 0
    # The trained backbone is saved for `fedvideo downstream --backbone`.
    backbone = load_file(tmp_path / "backbone.safetensors")
    R3DBackbone(pretrain_stride=False).load_state_dict(backbone, strict=True)


def test_ctp_probe_fixed_batch_repeats_one_batch(capsys, tmp_path):
    assert main(_tiny_ctp_probe(tmp_path, 4, "--fixed-batch")) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["fixed_batch"]
    curve = json.loads((tmp_path / "probe.json").read_text())["curve"]
    # The same clips and patches in every step: the same no-motion loss.
    assert curve[0]["no_motion"] == pytest.approx(curve[1]["no_motion"], rel=1e-6)


def test_ctp_probe_curriculum_starts_easy_and_ends_at_the_settings(capsys, tmp_path):
    argv = _tiny_ctp_probe(
        tmp_path,
        4,
        "--curriculum",
        "0.5",
        "--trajectory",
        "constant-velocity",
        "--camera-motion",
    )
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"]["curriculum"] == 0.5
    assert result["settings"]["camera_motion"]
    assert result["settings"]["trajectory"] == "constant-velocity"
    assert 0 < result["loss_ratio_official"] < 2
    curve = json.loads((tmp_path / "probe.json").read_text())["curve"]
    # Chunks start at steps 0 and 2 of 4: difficulty 0, then 2/4 / 0.5 = 1.
    assert [c["difficulty"] for c in curve] == [0.0, 1.0]


def test_ctp_probe_rejects_bad_settings(capsys):
    with pytest.raises(SystemExit, match="--video-frames must be >= --num-frames"):
        main(["ctp-probe", "--video-frames", "8"])
    with pytest.raises(SystemExit, match="--crop-size must be >= 32"):
        main(["ctp-probe", "--crop-size", "16"])
    with pytest.raises(SystemExit, match="--min-opacity.*opacity_range"):
        main(["ctp-probe", "--min-opacity", "1.5"])
    with pytest.raises(SystemExit, match="--retrieval-seeds must be >= 1"):
        main(["ctp-probe", "--retrieval-seeds", "0"])
    with pytest.raises(SystemExit, match="--curriculum.*length"):
        main(["ctp-probe", "--curriculum", "2"])
    with pytest.raises(SystemExit, match="--decay-at"):
        main(["ctp-probe", "--schedule", "step", "--decay-at", "0"])
    with pytest.raises(SystemExit, match="--extra-pretrain-per-class must be >= 0"):
        main(["ctp-probe", "--extra-pretrain-per-class", "-1"])


def test_ctp_probe_pretrains_on_more_videos_of_the_gallery_stream():
    parser = argparse.ArgumentParser()
    ctp_probe.add_arguments(parser)
    args = parser.parse_args(
        ["--classes", "2", "--train-per-class", "2", "--video-frames", "4",
         "--video-size", "16", "--test-per-class", "1"]
    )  # fmt: skip
    gallery, test = ctp_probe._videos(args, args.seed)
    videos, same_test = ctp_probe._videos(args, args.seed, extra_per_class=1)
    assert len(videos) == 6 and {v.label for v in videos} == {0, 1}
    assert [v.name for v in same_test] == [v.name for v in test]
    first = ctp_probe._first_per_class(videos, args.train_per_class)
    assert [v.name for v in first] == [v.name for v in gallery]
    for video, alone in zip(first, gallery, strict=True):  # the same clips
        assert np.array_equal(video.read_frames(range(4)), alone.read_frames(range(4)))


def test_ctp_probe_step_schedule_divides_the_rate_after_each_share():
    parser = argparse.ArgumentParser()
    ctp_probe.add_arguments(parser)
    args = parser.parse_args(
        [
            "--steps",
            "101",
            "--lr",
            "0.01",
            "--schedule",
            "step",
            "--decay-at",
            "0.5",
            "0.9",
        ]
    )
    rates = [ctp_probe._learning_rate(args, step) for step in (0, 49, 50, 89, 90, 100)]
    assert rates == pytest.approx([0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])
    args = parser.parse_args(
        ["--steps", "101", "--lr", "0.01", "--schedule", "constant"]
    )
    assert ctp_probe._learning_rate(args, 100) == pytest.approx(0.01)


def test_ctp_probe_defaults_pass_its_checks():
    # The run config's 72-px synthetic videos are resized for the 64-px crops.
    parser = argparse.ArgumentParser()
    ctp_probe.add_arguments(parser)
    args = parser.parse_args([])
    ctp_probe._check(args)


def test_multigrid_benchmark_trains_both_runs_and_writes_curves(capsys, tmp_path):
    argv = [
        "multigrid", "--train-videos", "2", "--test-videos", "1",
        "--video-frames", "4", "--hr-size", "32", "--gt-crop", "32",
        "--num-frames", "4", "--batch-size", "1", "--iters", "12",
        "--batch-factor", "2", "--min-lr-crop", "4", "--min-frames", "2",
        "--evals", "3", "--device", "cpu", "--output-dir", str(tmp_path),
    ]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["baseline"]["iters"] == 12 and result["multigrid"]["iters"] == 6
    assert result["multigrid"]["batch"] == 2
    assert result["multigrid"]["lr"] == 2 * result["baseline"]["lr"]  # linear scaling
    shapes = [(s["crop"], s["frames"]) for s in result["multigrid"]["stages"]]
    assert shapes == [(4, 2), (4, 3), (4, 4), (8, 2), (8, 3), (8, 4)]
    curves = json.loads((tmp_path / "curves.json").read_text())
    base, grid = curves["baseline"]["curve"], curves["multigrid"]["curve"]
    assert base["iteration"] == [4, 8, 12] and grid["iteration"] == [2, 4, 6]
    assert grid["shape"] == [[4, 3], [8, 2], [8, 4]]  # (LR crop, frames) trained
    assert result["target_psnr"] == pytest.approx(base["psnr"][-1] - 0.05, abs=1e-4)
    if result["speedup"] is not None:
        reach = result["multigrid"]["seconds_to_target"]
        assert result["speedup"] == pytest.approx(base["seconds"][-1] / reach, 1e-2)
    assert (tmp_path / "psnr_vs_time.png").stat().st_size > 0


def test_multigrid_benchmark_helpers():
    from fedvideo.tasks.vsr.bench.multigrid import checkpoints, seconds_to_reach

    assert checkpoints(1200, 4) == [300, 600, 900, 1200]
    assert checkpoints(5, 12) == [1, 2, 3, 4, 5]
    curve = {"seconds": [1.0, 2.0, 3.0], "psnr": [20.0, 25.0, 24.0]}
    assert seconds_to_reach(curve, 24.5) == 2.0
    assert seconds_to_reach(curve, 26.0) is None


def test_models_benchmark_prints_one_line_per_model(capsys):
    argv = ["models", "--models", "basicvsr-tiny", "--lr-size", "8"]
    assert main([*argv, "--num-frames", "2", "--repeats", "1", "--device", "cpu"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert result["model"] == "basicvsr-tiny" and result["params"] == 281549
    assert result["gflops_per_frame"] > 0 and result["step_ms"] > 0


def test_deformable_conv_flops_equal_the_dense_conv():
    import torch
    from torchvision.ops import deform_conv2d

    from fedvideo.tasks.vsr.bench.models import forward_flops

    class Deform(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.rand(8, 4, 3, 3))

        def forward(self, x):
            offset = torch.zeros(x.shape[0], 18, x.shape[-2], x.shape[-1])
            return deform_conv2d(x, offset, self.weight, padding=1)

    x = torch.rand(2, 4, 10, 12)
    dense = forward_flops(torch.nn.Conv2d(4, 8, 3, padding=1, bias=False), x)
    assert forward_flops(Deform(), x) == dense == 2 * 2 * 8 * 10 * 12 * 4 * 9
