"""GPU smoke run: every task through ``flwr run`` on GPUs, and every model's step.

Run it on a CUDA machine from the repository root (``scripts/gpu_smoke.sh``
wraps it). It starts a private simulation SuperLink (free ports, its own
``FLWR_HOME``), runs each task for 2 rounds with 2 simulated clients that
each reserve half a GPU, ``device = "cuda"`` and mixed precision, with the
tasks' paper-size models (BasicVSR, R3D-18 at 112 px, ViTPose-S); then one
train step of every bundled VSR model and of CtP's R3D-18 at paper-like sizes
(``fedvideo.bench models`` / ``ssl-step``). It writes one JSON file: the
machine, the versions, and per part the status, wall seconds and peak GPU
memory. ``--allow-cpu`` runs the same plumbing on the CPU with tiny settings,
to check the script itself; its figures are no GPU measurement.

Exit status: 0 when every run completed and every step ran, 1 otherwise, 2 when
there is no CUDA device (without ``--allow-cpu``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent

#: Run config per task for the GPU run (paper-size models, 2 rounds).
GPU_RUNS = {
    "vsr": "vsr.model='basicvsr' vsr.gt-crop=256 vsr.num-frames=15 vsr.batch-size=2 "
    "local-steps=20 synthetic.height=256 synthetic.width=256 synthetic.frames=20",
    "ssl": "ssl.crop-size=112 local-steps=20",
    "pose": "pose.model='vitpose-s' local-steps=20",
}
#: The same runs shrunk for --allow-cpu (plumbing only).
CPU_RUNS = {
    "vsr": "local-steps=2 synthetic.train-videos=4 synthetic.test-videos=1 "
    "synthetic.frames=4 synthetic.height=32 synthetic.width=32 vsr.gt-crop=32 "
    "vsr.num-frames=4 vsr.batch-size=2",
    "ssl": "local-steps=2",
    "pose": "local-steps=2",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(home: Path, http: int, control: int) -> dict[str, str]:
    return {
        **os.environ,
        "FLWR_HOME": str(home),
        "FLWR_LOCAL_SUPERLINK_HTTP_API_PORT": str(http),
        "FLWR_LOCAL_CONTROL_API_PORT": str(control),
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "PYTHONPATH": str(REPO),
    }


def _start_superlink(work: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start a simulation SuperLink on free ports, in a session of its own."""
    http, control = _free_port(), _free_port()
    env = _environment(work / "flwr-home", http, control)
    log = open(work / "superlink.log", "w")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        [
            "flower-superlink",
            "--insecure",
            "--simulation",
            "--isolation",
            "subprocess",
            "--control-api-address",
            f"127.0.0.1:{control}",
            "--host",
            "127.0.0.1",
            "--port",
            str(http),
            "--disable-runtime-dependency-installation",
            "--database",
            str(work / "state.db"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"flower-superlink exited; see {work / 'superlink.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=1):
                return process, env
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("flower-superlink did not become healthy within 60 s")


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), sessions of their own included."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process has ended
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _stop(process: subprocess.Popen) -> None:
    """Stop the SuperLink and all it started (the SuperExec runs in its own session)."""
    started = _descendants(process.pid)
    for pid in [process.pid, *started]:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *started]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _simulate(env: dict, task: str, settings: str, out: Path, gpu: bool) -> dict:
    """``flwr run`` one task for 2 rounds; return status, wall time and folder."""
    device = "device='cuda' amp=true" if gpu else "device='cpu'"
    nodes = 3 if task == "pose" else 2
    share = "client-resources-num-gpus=0.5 " if gpu else ""
    run_config = (
        f"task='{task}' num-server-rounds=2 eval-every=0 {device} "
        f"output-dir='{out / task}' {settings}"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [
            "flwr",
            "run",
            ".",
            "--run-config",
            run_config,
            "--federation-config",
            f"num-supernodes={nodes} {share}client-resources-num-cpus=1",
            "--stream",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.perf_counter() - start
    match = re.search(r"run (?:ID )?(\d+)", result.stdout + result.stderr, re.I)
    status = "not started"
    if match:
        listing = subprocess.run(
            ["flwr", "list", "--run-id", match[1], "--format", "json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        status = json.loads(listing.stdout)["runs"][0]["status"]
    return {
        "task": task,
        "status": status,
        "wall_seconds": round(wall, 1),
        "run_config": run_config,
        "results": sorted(str(p) for p in (out / task).glob("*/results.json")),
    }


def _bench(args: list[str]) -> list[dict]:
    """Run ``python -m fedvideo.bench ...``; return its JSON lines (or the error)."""
    result = subprocess.run(
        [sys.executable, "-m", "fedvideo.bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        return [{"bench": args, "error": result.stderr[-2000:]}]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def main() -> int:
    """Run the smoke test and write its JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "gpu_smoke")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="check the plumbing on the CPU"
    )
    args = parser.parse_args()
    # A SIGTERM (e.g. from `timeout`) must still stop the SuperLink below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    gpu = torch.cuda.is_available()
    if not gpu and not args.allow_cpu:
        message = "gpu_smoke: no CUDA device here; run it on a GPU machine"
        print(message, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    import flwr

    report: dict = {
        "device": torch.cuda.get_device_name(0) if gpu else "cpu (plumbing check)",
        "gpus": torch.cuda.device_count(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "flwr": flwr.__version__,
        },
        "simulations": [],
    }
    runs = GPU_RUNS if gpu else CPU_RUNS
    with tempfile.TemporaryDirectory() as tmp:
        superlink, env = _start_superlink(Path(tmp))
        try:
            for task, settings in runs.items():
                row = _simulate(env, task, settings, args.out, gpu)
                print(json.dumps(row), flush=True)
                report["simulations"].append(row)
        finally:
            _stop(superlink)
    device = "cuda" if gpu else "cpu"
    if gpu:
        models = ["--lr-size", "64", "--num-frames", "15", "--batch-size", "2"]
        ssl = ["--crop-size", "112", "--num-frames", "16", "--batch-size", "4"]
    else:
        models = ["--models", "basicvsr-tiny", "--lr-size", "8", "--num-frames", "3"]
        ssl = ["--crop-size", "32", "--num-frames", "16", "--batch-size", "2"]
    repeats = ["--repeats", "2", "--warmup", "1"]
    report["vsr_models"] = _bench(["models", *models, *repeats, "--device", device])
    report["ssl_step"] = _bench(["ssl-step", *ssl, *repeats, "--device", device])
    path = args.out / "gpu_smoke.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"gpu_smoke: wrote {path}")
    failed = [r for r in report["simulations"] if r["status"] != "finished:completed"]
    errors = [r for r in report["vsr_models"] + report["ssl_step"] if "error" in r]
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
