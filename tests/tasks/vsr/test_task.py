"""The VSR task through the Task interface, on a tiny synthetic dataset."""

import json
import math

import pytest
import torch
from flwr.app import ArrayRecord, RecordDict
from tiny_tasks import tiny_task

from fedvideo.config import ConfigError
from fedvideo.data.errors import DatasetError
from fedvideo.fl.after_round import AfterRound
from fedvideo.fl.checkpoint import load_round_checkpoint
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.results import RunRecorder
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import local_round
from fedvideo.strategy import build_strategy
from fedvideo.tasks.vsr import evaluation
from fedvideo.tasks.vsr.data.synthetic import write_synthetic_reds
from fedvideo.tasks.vsr.evaluation import bicubic_upsample

CPU = torch.device("cpu")


def test_train_round_changes_model_and_reports_loss():
    task, _, _ = tiny_task()
    model = task.build_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = local_round(
        task, model, ClientInfo(0, 2), RoundInfo(1, 3), CPU, RecordDict()
    )
    assert math.isfinite(result.train_loss) and result.train_loss > 0
    assert result.num_examples == 2 * 4  # 2 videos x samples-per-video
    assert result.metrics["steps"] == 2
    assert result.metrics["loss_hifr"] > 0
    changed = [
        k for k, v in model.state_dict().items() if not torch.equal(v, before[k])
    ]
    assert changed


def test_build_model_is_identical_across_processes_by_seed():
    task, _, _ = tiny_task()
    a, b = task.build_model().state_dict(), task.build_model().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_global_reports_model_and_bicubic():
    task, _, _ = tiny_task()
    metrics = task.evaluate_global(task.build_model(), CPU)
    assert set(metrics) == {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic"}
    assert 10 < metrics["psnr_bicubic"] < 50


def test_bicubic_scores_are_computed_once_per_run(monkeypatch):
    """Later evaluations reuse the first one's bicubic scores, and equal them."""
    calls = []

    def counting_bicubic(lr, scale):
        calls.append(lr.shape)
        return bicubic_upsample(lr, scale)

    monkeypatch.setattr(evaluation, "bicubic_upsample", counting_bicubic)
    task, _, _ = tiny_task()
    model = task.build_model()
    first = task.evaluate_global(model, CPU)
    clips = len(calls)
    assert clips == len(task.test_data()) > 0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    second = task.evaluate_global(model, CPU)
    assert len(calls) == clips  # no clip upsampled again
    assert second["psnr_bicubic"] == first["psnr_bicubic"]
    assert second["ssim_bicubic"] == first["ssim_bicubic"]
    assert second["psnr"] != first["psnr"]  # the model's scores are recomputed
    fresh, _, _ = tiny_task()  # a new task (run) computes them again
    assert fresh.evaluate_global(model, CPU)["psnr_bicubic"] == first["psnr_bicubic"]
    assert len(calls) == 2 * clips


@pytest.mark.parametrize("model", ["basicvsr-tiny", "edvr-tiny", "vrt-tiny"])
def test_round_zero_scores_exactly_the_bicubic_baseline(model):
    task, _, _ = tiny_task(**{"vsr.model": model})
    metrics = task.evaluate_global(task.build_model(), CPU)
    assert metrics["psnr"] == metrics["psnr_bicubic"]
    assert metrics["ssim"] == metrics["ssim_bicubic"]


def test_bicubic_upsample_shape_and_range():
    lr = torch.rand(2, 3, 3, 5, 6)
    up = bicubic_upsample(lr, 4)
    assert up.shape == (2, 3, 3, 20, 24)
    assert up.min() >= 0 and up.max() <= 1


def test_missing_dataset_folder_named(tmp_path):
    missing = tmp_path / "nope"
    task, _, _ = tiny_task(**{"vsr.dataset": str(missing)})
    with pytest.raises(DatasetError, match="nope"):
        local_round(
            task,
            task.build_model(),
            ClientInfo(0, 1),
            RoundInfo(1, 1),
            CPU,
            RecordDict(),
        )


def test_partition_id_out_of_range():
    with pytest.raises(ValueError, match="partition-id 3 out of range"):
        ClientInfo.from_node_config({"partition-id": 3, "num-partitions": 2})
    with pytest.raises(ValueError, match="--node-config"):
        ClientInfo.from_node_config({})


def test_trains_on_reds_layout_folder(tmp_path):
    root = tmp_path / "REDS"
    write_synthetic_reds(root, seed=1, num_videos=2, num_frames=4, height=32, width=32)
    task, _, _ = tiny_task(**{"vsr.dataset": str(root)})
    result = local_round(
        task, task.build_model(), ClientInfo(0, 1), RoundInfo(1, 1), CPU, {}
    )
    assert math.isfinite(result.train_loss)
    metrics = task.evaluate_global(task.build_model(), CPU)  # REDS4 clips
    assert metrics["psnr_bicubic"] > 10


def test_after_round_checkpoints_and_records(tmp_path):
    task, federation, config = tiny_task(**{"eval-every": 2, "num-server-rounds": 3})
    strategy = build_strategy(federation, config)
    model = task.build_model()
    recorder = RunRecorder(tmp_path, config, task.plot)
    after = AfterRound(task, model, CPU, federation, strategy, recorder)
    arrays = ArrayRecord(model.state_dict())
    assert after(0, arrays) is not None  # round 0 is always evaluated
    assert after(1, arrays) is None  # not due
    assert after(2, arrays) is not None
    server_round, state, _ = load_round_checkpoint(tmp_path / "checkpoint.pt")
    assert server_round == 2 and set(state) == set(model.state_dict())
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    assert results["rounds"][1]["evaluation"] == {}
    assert (tmp_path / "metrics.png").stat().st_size > 0
    recorder.finish("completed")
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "completed"


# --- multigrid and large-minibatch training ---------------------------------

MULTIGRID = {
    "multigrid": True,
    "num-server-rounds": 6,
    "vsr.gt-crop": 32,  # LR crop 8
    "vsr.num-frames": 8,
    "multigrid-schedule.min-lr-crop": 4,
    "multigrid-schedule.min-frames": 2,
}


def test_multigrid_round_schedule_follows_the_stages():
    task, _, _ = tiny_task(**MULTIGRID)
    schedule = [task.round_schedule(r) for r in range(1, 7)]
    assert [(s["stage"], s["gt_crop"], s["num_frames"]) for s in schedule] == [
        (1, 16, 4), (2, 16, 6), (3, 16, 8), (4, 32, 4), (5, 32, 6), (6, 32, 8),
    ]  # fmt: skip
    assert {s["stages"] for s in schedule} == {6}
    assert task.round_schedule(1)["lr_crop"] == 4
    plain, _, _ = tiny_task()
    assert plain.round_schedule(1) == {}


def test_multigrid_round_trains_the_stage_shape_and_restarts_the_lr():
    task, _, config = tiny_task(**MULTIGRID)
    lr = config["vsr.lr"]
    # Round 4 starts the second spatial stage: full LR at its first step.
    plan = task.round_plan(RoundInfo(4, 6), steps=5)
    assert (plan.gt_crop, plan.num_frames) == (32, 4)
    assert plan.lr_at(0) == pytest.approx(lr)
    assert plan.lr_at(4) < lr
    model = task.build_model()
    result = local_round(
        task, model, ClientInfo(0, 2), RoundInfo(2, 6), CPU, RecordDict()
    )
    metrics = result.metrics
    assert (metrics["gt_crop"], metrics["num_frames"]) == (16, 6)
    # Round 2 of 6, 2 local steps: t = 2 of 12, a non-last stage annealing over 12.
    expected = config["vsr.lr-min"] + 0.5 * (lr - config["vsr.lr-min"]) * (
        1 + math.cos(math.pi * 0 / 12)
    )
    assert metrics["lr_start"] == pytest.approx(expected)
    assert metrics["lr_end"] < metrics["lr_start"]


def test_large_batch_scaling_and_warmup_without_multigrid():
    task, _, config = tiny_task(
        **{
            "vsr.batch-size": 4,
            "vsr.reference-batch-size": 2,
            "vsr.warmup-fraction": 0.5,
        }
    )
    plan = task.round_plan(RoundInfo(1, 2), steps=10)  # 20 iterations, 10 of warmup
    scaled = 2 * config["vsr.lr"]
    assert plan.lr_at(4) == pytest.approx(
        0.5 * (config["vsr.lr-min"] + 0.5 * (scaled - config["vsr.lr-min"])
               * (1 + math.cos(math.pi * 4 / 20)))
    )  # fmt: skip
    assert (plan.gt_crop, plan.num_frames) == (32, 4)
    unscaled = tiny_task()[0].round_plan(RoundInfo(1, 2), steps=10)
    assert unscaled.lr_at(0) == pytest.approx(config["vsr.lr"])


def test_multigrid_config_errors_are_named():
    with pytest.raises(
        ConfigError, match="has 6 stages .* needs num-server-rounds >= 6, got 3"
    ):
        tiny_task(**{**MULTIGRID, "num-server-rounds": 3})
    task, _, _ = tiny_task(**{**MULTIGRID, "num-server-rounds": 3,
                          "multigrid-schedule.temporal-stages": 1})  # fmt: skip
    assert [task.round_schedule(r)["gt_crop"] for r in (1, 2, 3)] == [16, 32, 32]
    with pytest.raises(ConfigError, match="run config 'multigrid': task 'pose'"):
        tiny_task(multigrid=True, task="pose")
    with pytest.raises(ConfigError, match="vsr.warmup-fraction"):
        tiny_task(**{"vsr.warmup-fraction": 1.0})


def test_multigrid_stage_change_rereads_no_cached_frame(tmp_path):
    root = tmp_path / "REDS"
    write_synthetic_reds(root, seed=2, num_videos=2, num_frames=4, height=32, width=32)
    overrides = {**MULTIGRID, "vsr.dataset": str(root), "vsr.num-frames": 4}
    task, _, _ = tiny_task(**overrides)
    client, model = ClientInfo(0, 1), task.build_model()
    local_round(
        task, model, client, RoundInfo(1, 6), CPU, RecordDict()
    )  # crop 16, 2 frames
    cache = task.splits().train[0].cache
    after_first = cache.stats()
    assert after_first.misses > 0
    local_round(
        task, model, client, RoundInfo(6, 6), CPU, RecordDict()
    )  # crop 32, 4 frames
    after_last = cache.stats()
    assert after_last.hits > after_first.hits
    # Clips of 4 frames cover the whole 4-frame videos: only round 1's unseen
    # frames (if any) are read, never one read before.
    assert after_last.misses - after_first.misses <= 8 - after_first.entries
    assert after_last.entries <= 8


def test_tiled_evaluation_matches_whole_clip_evaluation():
    whole, _, _ = tiny_task()
    tiled, _, _ = tiny_task(
        **{"vsr.eval-tile": "0,16,16", "vsr.eval-tile-overlap": "0,8,8"}
    )
    model = whole.build_model()
    a = whole.evaluate_global(model, CPU)
    b = tiled.evaluate_global(model, CPU)
    assert b["psnr_bicubic"] == a["psnr_bicubic"]
    assert abs(b["psnr"] - a["psnr"]) < 0.05  # BasicVSR's flow sees the whole frame
    single, _, _ = tiny_task(**{"vsr.eval-tile": "0,0,0"})  # one tile = the whole clip
    assert single.evaluate_global(model, CPU)["psnr"] == a["psnr"]
    with pytest.raises(ConfigError, match="'vsr.eval-tile'.*frames,height,width"):
        tiny_task(**{"vsr.eval-tile": "16,16"})


def test_multigrid_sliding_window_models_take_the_spatial_cycle_only():
    edvr = {**MULTIGRID, "vsr.model": "edvr-tiny", "vsr.num-frames": 5}
    task, _, _ = tiny_task(**edvr)
    with pytest.raises(ConfigError, match="sliding-window.*temporal-stages = 1"):
        task.initial_model()
    spatial, _, _ = tiny_task(**{**edvr, "multigrid-schedule.temporal-stages": 1})
    assert getattr(spatial.initial_model(), "sliding_window", False)
    assert [spatial.round_schedule(r)["num_frames"] for r in (1, 6)] == [5, 5]


# --- synthetic domains: by-domain clients, per-domain scores ------------------

DOMAINS_4 = {"synthetic.domains": "smooth,fine,fast,degraded"}


def test_by_domain_clients_each_hold_one_domain():
    task, _, _ = tiny_task(
        **DOMAINS_4, **{"vsr.partitioning": "by-domain", "synthetic.train-videos": 8}
    )
    parts = [task.client_data(ClientInfo(i, 4)) for i in range(4)]
    domains = [{video.name.rsplit("-", 1)[1] for video in part} for part in parts]
    assert domains == [{"smooth"}, {"fine"}, {"fast"}, {"degraded"}]
    assert [len(part) for part in parts] == [2, 2, 2, 2]
    # Eight clients: two per domain, each with half of it.
    halves = [task.client_data(ClientInfo(i, 8)) for i in (0, 4)]
    assert [len(h) for h in halves] == [1, 1] and halves[0] != halves[1]


def test_iid_clients_hold_every_domain():
    task, _, _ = tiny_task(**DOMAINS_4, **{"synthetic.train-videos": 8})
    parts = [task.client_data(ClientInfo(i, 2)) for i in range(2)]
    for part in parts:
        assert {v.name.rsplit("-", 1)[1] for v in part} == set(
            DOMAINS_4["synthetic.domains"].split(",")
        )


def test_by_domain_needs_several_domains():
    with pytest.raises(ConfigError, match="by-domain"):
        tiny_task(**{"vsr.partitioning": "by-domain"})
    with pytest.raises(ConfigError, match="synthetic.domains"):
        tiny_task(**{"synthetic.domains": "smooth,sharp"})


def test_held_out_scores_are_reported_per_domain_too():
    task, _, _ = tiny_task(**DOMAINS_4, **{"synthetic.test-videos": 4})
    metrics = task.evaluate_global(task.build_model(), CPU)
    for domain in DOMAINS_4["synthetic.domains"].split(","):
        assert metrics[f"psnr {domain}"] == metrics[f"psnr_bicubic {domain}"]
    per_domain = [metrics[f"psnr_bicubic {d}"] for d in ("smooth", "fine", "fast")]
    overall = (sum(per_domain) + metrics["psnr_bicubic degraded"]) / 4
    assert metrics["psnr_bicubic"] == pytest.approx(overall)
    assert metrics["psnr_bicubic smooth"] > metrics["psnr_bicubic fine"]
    assert "psnr mixed" not in tiny_task()[0].evaluate_global(task.build_model(), CPU)
