"""A VSR training step on an idle machine and beside one busy process.

PyTorch's OpenMP threads spin while they wait for work. Beside a busy process
those spinning threads take the cores the working ones need. This benchmark
times the same train step with two OpenMP wait policies:

* ``default``: the OpenMP runtime's own (spin for a while, then sleep);
* ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (sleep at once).

Each policy runs in two conditions: the machine idle, and one busy
single-threaded process running beside it. The policy must be set before the
OpenMP runtime starts, so every measurement is a fresh Python process started
by this one with its own environment; the ratios come from one run of this
process. The four measurements are repeated ``--rounds`` times in turn so that
machine noise hits them alike, and medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator

from fedvideo.config import default_run_config, parse_section
from fedvideo.tasks.vsr.config import VSRConfig

__all__ = ["add_arguments", "run"]

#: Environment of each policy: the variable set, or removed (None).
POLICIES = {"default": None, "passive": "PASSIVE"}

#: Busy work beside the measured process: one core, forever.
BUSY_LOOP = "while True:\n    pass\n"

#: The measured process: median milliseconds of a basicvsr step, as JSON.
CHILD = """
import json, statistics, sys, torch
from fedvideo.tasks.vsr.bench.step import timed_train_step
from fedvideo.tasks.vsr.models import build_vsr_model
threads, model_name, batch, frames, crop, repeats, warmup = sys.argv[1:8]
torch.set_num_threads(int(threads))
torch.manual_seed(0)
model = build_vsr_model(model_name, scale=4)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
lr = torch.rand(int(batch), int(frames), 3, int(crop) // 4, int(crop) // 4)
hr = torch.rand(int(batch), int(frames), 3, int(crop), int(crop))
cpu = torch.device("cpu")
for _ in range(int(warmup)):
    timed_train_step(model, optimizer, lr, hr, cpu)
times = [timed_train_step(model, optimizer, lr, hr, cpu) for _ in range(int(repeats))]
print(json.dumps({"step_ms": 1e3 * statistics.median(times)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark (defaults: the run config's ``vsr`` section)."""
    vsr = parse_section(default_run_config(), VSRConfig, "vsr")
    parser.add_argument("--model", default=vsr.model)
    parser.add_argument("--batch-size", type=int, default=vsr.batch_size)
    parser.add_argument("--num-frames", type=int, default=vsr.num_frames)
    parser.add_argument(
        "--gt-crop", type=int, default=vsr.gt_crop, help="HR crop (LR = gt-crop / 4)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch threads of the measured step (default: every CPU, as a "
        "client with num-threads = 0 that reserved them all)",
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions")


def _environment(policy: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    return env


def _step_ms(args: argparse.Namespace, policy: str | None, busy: bool) -> float:
    """Median step time of a fresh process with ``policy``, beside a busy one."""
    neighbour = (
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=_environment(None))
        if busy
        else None
    )
    try:
        argv = [str(args.threads), args.model, str(args.batch_size)]
        argv += [str(args.num_frames), str(args.gt_crop)]
        argv += [str(args.repeats), str(args.warmup)]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *argv],
            env=_environment(policy),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    return json.loads(done.stdout.strip().splitlines()[-1])["step_ms"]


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Measure and yield one result dict."""
    conditions = [(p, busy) for p in POLICIES for busy in (False, True)]
    samples: dict[tuple[str, bool], list[float]] = {c: [] for c in conditions}
    for _ in range(args.rounds):
        for policy, busy in conditions:
            samples[policy, busy].append(_step_ms(args, POLICIES[policy], busy))
    ms = {c: statistics.median(values) for c, values in samples.items()}
    result = {
        "benchmark": "contention",
        "model": args.model,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "batch": args.batch_size,
        "frames": args.num_frames,
        "gt_crop": args.gt_crop,
    }
    for policy in POLICIES:
        result[f"{policy}_idle_ms"] = round(ms[policy, False], 2)
        result[f"{policy}_busy_ms"] = round(ms[policy, True], 2)
        result[f"{policy}_busy_slowdown"] = round(
            ms[policy, True] / ms[policy, False], 3
        )
    result["passive_vs_default_idle"] = round(
        ms["passive", False] / ms["default", False], 3
    )
    result["passive_vs_default_busy"] = round(
        ms["passive", True] / ms["default", True], 3
    )
    yield result
