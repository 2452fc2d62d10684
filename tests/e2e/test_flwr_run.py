"""End to end: ``flwr run .`` of 2 rounds on a local simulation SuperLink.

Each test starts its own SuperLink (simulation mode, runtime dependency
installation disabled) on free ports with a private ``FLWR_HOME``
(:mod:`flwr_harness`), submits the app with ``flwr run``, checks the run's final
status with ``flwr list`` and the results written by the ServerApp, and stops the
SuperLink by its PID.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from pathlib import Path

import pytest
import torch
from flwr_harness import requires_superlink, run_status, submit
from flwr_harness import superlink as _superlink

from fedvideo.utils import load_weights

pytestmark = [requires_superlink, pytest.mark.slow]


@pytest.fixture
def superlink(tmp_path):
    """A simulation SuperLink on free ports; yields the environment to reach it."""
    with _superlink(tmp_path) as link:
        yield link.env


def _run_two_rounds(
    env: dict, out_dir: Path, run_config: str, num_supernodes: int = 2
) -> tuple[dict, Path]:
    """Submit a 2-round run, check it completed, return its results and folder."""
    run_id, output = submit(
        env,
        f"num-server-rounds=2 output-dir='{out_dir}' {run_config}",
        num_supernodes=num_supernodes,
    )
    status = run_status(env, run_id)
    assert status == "finished:completed", (status, output[-4000:])

    results_files = list(out_dir.glob("*/results.json"))
    assert len(results_files) == 1, output[-4000:]
    results = json.loads(results_files[0].read_text())
    assert results["status"] == "completed"
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    assert len(results["rounds"][-1]["clients"]) == num_supernodes
    times = results["time"]  # where the run's wall time went
    assert 0 < times["client_train_seconds"] <= times["rounds_seconds"]
    assert times["startup_seconds"] > 0 and times["saving_seconds"] > 0
    parts = ("startup", "rounds", "evaluation", "saving", "other")
    assert sum(times[f"{p}_seconds"] for p in parts) == pytest.approx(
        times["total_seconds"]
    )
    for client in results["rounds"][-1]["clients"]:
        assert client["metrics"]["update_norm"] > 0
    run_dir = results_files[0].parent
    assert (run_dir / "metrics.png").stat().st_size > 0
    assert (run_dir / "model.pt").stat().st_size > 0
    # model.safetensors holds the same tensors as model.pt.
    exported = torch.load(run_dir / "model.pt", weights_only=True)
    shared = load_weights(run_dir / "model.safetensors")
    assert set(shared) == set(exported)
    assert all(torch.equal(shared[k], exported[k]) for k in exported)
    return results, run_dir


def test_flwr_run_vsr_two_rounds_completes(superlink, tmp_path):
    results, _ = _run_two_rounds(
        superlink,
        tmp_path / "outputs",
        "local-steps=3 synthetic.train-videos=8 synthetic.test-videos=2 "
        "synthetic.frames=8",
    )
    final = results["rounds"][-1]
    assert {"psnr", "psnr_bicubic", "ssim", "ssim_bicubic"} <= set(final["evaluation"])


def test_flwr_run_ssl_swa_two_rounds_completes(superlink, tmp_path):
    results, run_dir = _run_two_rounds(
        superlink,
        tmp_path / "outputs",
        "task='ssl' strategy='swa-mixed' local-steps=1 ssl.crop-size=32 "
        "ssl.batch-size=2 ssl.eval-clips=1 synthetic-action.classes=2 "
        "synthetic-action.train-per-class=2 synthetic-action.test-per-class=1 "
        "synthetic-action.frames=16 synthetic-action.size=36",
    )
    rounds = results["rounds"]
    assert {"R@1", "R@5"} <= set(rounds[-1]["evaluation"])
    assert rounds[1]["train_loss"] > 0
    # The no-motion baseline is recorded next to the pretext loss and plotted.
    assert rounds[1]["train_parts"]["no_motion"] > 0
    assert (run_dir / "loss.png").stat().st_size > 0
    assert rounds[2]["aggregation"]["swa_mixed"] == 1.0

    import torch
    from torchvision.models.video import r3d_18

    backbone = torch.load(run_dir / "model.pt", weights_only=True)
    missing = r3d_18().load_state_dict(backbone, strict=False).missing_keys
    assert sorted(missing) == ["fc.bias", "fc.weight"]
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert set(checkpoint["strategy"]["previous_global"]) == set(checkpoint["model"])


def test_flwr_run_ssl_vcop_records_its_trivial_baselines(superlink, tmp_path):
    results, run_dir = _run_two_rounds(
        superlink,
        tmp_path / "outputs",
        "task='ssl' ssl.pretext='vcop' local-steps=1 ssl.crop-size=32 "
        "ssl.batch-size=2 ssl.eval-clips=1 synthetic-action.classes=2 "
        "synthetic-action.train-per-class=2 synthetic-action.test-per-class=1 "
        "synthetic-action.frames=20 synthetic-action.size=36",
    )
    rounds = results["rounds"]
    assert {"R@1", "R@5"} <= set(rounds[-1]["evaluation"])
    parts = rounds[1]["train_parts"]
    assert parts["uniform"] == pytest.approx(math.log(6))  # ln 3!
    assert parts["chance_accuracy"] == pytest.approx(1 / 6)
    assert 0.0 <= parts["accuracy"] <= 1.0
    assert (run_dir / "loss.png").stat().st_size > 0


def test_flwr_run_pose_fedprox_three_resolutions(superlink, tmp_path):
    results, run_dir = _run_two_rounds(
        superlink,
        tmp_path / "outputs",
        "task='pose' strategy='fedprox' fedprox.mu=0.5 local-steps=2 "
        "pose.resolutions='64x48,48x32,32x24' pose.sweep-resolutions='32x24,96x64' "
        "pose.batch-size=2 synthetic-pose.train-images=6 "
        "synthetic-pose.test-images=3 synthetic-pose.image-size=64",
        num_supernodes=3,
    )
    clients = [c["metrics"] for c in results["rounds"][2]["clients"]]
    assert sorted(c["native_height"] for c in clients) == [32.0, 48.0, 64.0]
    assert sorted(c["copies"] for c in clients) == [1.0, 2.0, 3.0]  # MRKD cascade
    assert all(c["loss_proximal"] > 0 for c in clients)  # FedProx really applied
    assert "PCKh@0.5 32x24" in results["rounds"][2]["evaluation"]
    assert "sweep PCKh@0.5 96x64" in results["final_evaluation"]
    sweep = json.loads((run_dir / "resolution_sweep.json").read_text())
    assert list(sweep["sweep"]) == ["32x24", "96x64"]
    assert (run_dir / "resolution_sweep.png").stat().st_size > 0


def test_flwr_run_vsr_multigrid_records_the_stage_per_round(superlink, tmp_path):
    results, _ = _run_two_rounds(
        superlink,
        tmp_path / "outputs",
        "strategy='fedvsr' multigrid=true local-steps=2 synthetic.train-videos=8 "
        "synthetic.test-videos=2 synthetic.frames=8 vsr.num-frames=8 "
        "multigrid-schedule.spatial-stages=1 multigrid-schedule.temporal-stages=2 "
        "multigrid-schedule.min-frames=2 vsr.lr=4e-4 vsr.warmup-fraction=0.0",
    )
    rounds = results["rounds"]
    assert [r["schedule"].get("num_frames") for r in rounds] == [None, 4, 8]
    assert [r["schedule"].get("stage") for r in rounds] == [None, 1, 2]
    for entry in rounds[1:]:
        clients = [c["metrics"] for c in entry["clients"]]
        assert {c["num_frames"] for c in clients} == {entry["schedule"]["num_frames"]}
        assert {c["gt_crop"] for c in clients} == {64.0}
        # Every stage restarts at the configured LR (4e-4).
        assert all(c["lr_start"] == pytest.approx(4e-4) for c in clients)
        assert all(c["lr_end"] < c["lr_start"] for c in clients)


def test_flwr_run_federates_a_model_defined_outside_the_package(tmp_path):
    """``vsr.model = "module:Factory"`` from a folder on the apps' PYTHONPATH."""
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "outside_vsr.py").write_text(
        textwrap.dedent(
            """
            import torch.nn.functional as F
            from torch import nn


            class ShuffleVSR(nn.Module):
                def __init__(self, upscale=4, channels=8):
                    super().__init__()
                    self.upscale = upscale
                    self.conv = nn.Conv2d(3, 3 * upscale**2, 3, padding=1)

                def forward(self, x):
                    b, t, c, h, w = x.shape
                    frames = x.reshape(b * t, c, h, w)
                    up = F.pixel_shuffle(self.conv(frames), self.upscale)
                    base = F.interpolate(frames, scale_factor=self.upscale)
                    s = self.upscale
                    return (up + base).reshape(b, t, c, s * h, s * w)
            """
        )
    )
    pythonpath = os.pathsep.join(filter(None, [str(zoo), os.environ.get("PYTHONPATH")]))
    with _superlink(tmp_path, {"PYTHONPATH": pythonpath}) as link:
        results, run_dir = _run_two_rounds(
            link.env,
            tmp_path / "outputs",
            "strategy='fedavg' vsr.model='outside_vsr:ShuffleVSR' "
            "vsr.model-kwargs='upscale = 4, channels = 8' local-steps=2 "
            "synthetic.train-videos=4 synthetic.test-videos=1 synthetic.frames=8",
        )
    import torch

    weights = torch.load(run_dir / "model.pt", weights_only=True)
    assert sorted(weights) == ["conv.bias", "conv.weight"]
    assert weights["conv.weight"].shape == (48, 3, 3, 3)
    assert results["rounds"][-1]["train_loss"] > 0
    assert "psnr" in results["rounds"][-1]["evaluation"]
