"""A VSR training step on an idle machine and beside one busy process.

PyTorch's OpenMP threads spin while they wait for work. Beside a busy process
those spinning threads take the cores the working ones need. This benchmark
times the same train step with two OpenMP wait policies:

* ``default``: the OpenMP runtime's own (spin for a while, then sleep);
* ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (sleep at once);
* ``adaptive``: the default wait policy with ``thread-policy = "adaptive"``
  (:class:`fedvideo.fl.threads.AdaptiveThreads`: one thread fewer while another
  process keeps a core busy), sampled for 0.5 s before the first step and
  updated before every step as in training.

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

#: Each policy: OMP_WAIT_POLICY (None: removed) and whether threads adapt.
POLICIES = {
    "default": (None, False),
    "passive": ("PASSIVE", False),
    "adaptive": (None, True),
}

#: Busy work beside the measured process: one core, forever.
BUSY_LOOP = "while True:\n    pass\n"

#: The measured process: median milliseconds of a basicvsr step, as JSON.
CHILD = """
import json, statistics, sys, torch
from fedvideo.tasks.vsr.bench.step import timed_train_step
from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.fl.threads import AdaptiveThreads
threads, model_name, batch, frames, crop, repeats, warmup, adapt = sys.argv[1:9]
torch.set_num_threads(int(threads))
adaptive = AdaptiveThreads(int(threads)) if adapt == "1" else None
if adaptive is not None:
    adaptive.measure_now(0.5)
torch.manual_seed(0)
model = build_vsr_model(model_name, scale=4)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
lr = torch.rand(int(batch), int(frames), 3, int(crop) // 4, int(crop) // 4)
hr = torch.rand(int(batch), int(frames), 3, int(crop), int(crop))
cpu = torch.device("cpu")
def step():
    if adaptive is not None:
        adaptive.update()
    return timed_train_step(model, optimizer, lr, hr, cpu)
for _ in range(int(warmup)):
    step()
times = [step() for _ in range(int(repeats))]
print(json.dumps({"step_ms": 1e3 * statistics.median(times),
                  "threads": torch.get_num_threads()}))
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


def _step_ms(args: argparse.Namespace, policy: str, busy: bool) -> tuple[float, int]:
    """Median step time and final thread count of a fresh ``policy`` process.

    ``busy``: one busy single-threaded process runs beside it.
    """
    wait_policy, adaptive = POLICIES[policy]
    neighbour = (
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=_environment(None))
        if busy
        else None
    )
    try:
        argv = [str(args.threads), args.model, str(args.batch_size)]
        argv += [str(args.num_frames), str(args.gt_crop)]
        argv += [str(args.repeats), str(args.warmup), str(int(adaptive))]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *argv],
            env=_environment(wait_policy),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return measured["step_ms"], measured["threads"]


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Measure and yield one result dict."""
    conditions = [(p, busy) for p in POLICIES for busy in (False, True)]
    samples: dict[tuple[str, bool], list[float]] = {c: [] for c in conditions}
    threads: dict[tuple[str, bool], list[int]] = {c: [] for c in conditions}
    for _ in range(args.rounds):
        for policy, busy in conditions:
            step_ms, used = _step_ms(args, policy, busy)
            samples[policy, busy].append(step_ms)
            threads[policy, busy].append(used)
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
    for policy in ("passive", "adaptive"):
        for busy, condition in ((False, "idle"), (True, "busy")):
            result[f"{policy}_vs_default_{condition}"] = round(
                ms[policy, busy] / ms["default", busy], 3
            )
    # the targets: beside a busy process at most 2x, idle at most 1.1x, both
    # against today's (default) idle step
    result["adaptive_busy_vs_default_idle"] = round(
        ms["adaptive", True] / ms["default", False], 3
    )
    result["adaptive_threads_idle"] = threads["adaptive", False]
    result["adaptive_threads_busy"] = threads["adaptive", True]
    yield result
