"""The deployment path: a TLS SuperLink with SuperNode authentication.

Everything runs on loopback with the scripts of ``deploy/``: a CA and server
certificate, SuperNode key pairs, a SuperLink (TLS, ``--enable-supernode-auth``)
on a free port with a private ``FLWR_HOME``, two registered SuperNodes
(partition-id 0 and 1 of 2) and one whose key was never registered. A 2-round
VSR run must complete over the authenticated connection, and the unregistered
SuperNode must be refused. Every process is stopped by its PID in the fixture's
teardown, also when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flwr_harness import alive, free_port, run_command

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
REQUIRED = ("flower-superlink", "flower-supernode", "openssl", "ssh-keygen", "setsid")
_missing = [tool for tool in REQUIRED if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_missing), reason=f"not on PATH: {', '.join(_missing)}"),
]

CONNECTION = "deploy-test"
LOOPBACK = "127.0.0.1,localhost"
#: Flower's code for a SuperNode the SuperLink refuses (SUPERNODE_CONNECTION_ERROR):
#: it is logged as "Exit Code: 305"; the process itself exits with status 1.
REFUSED_EXIT_CODE = 305
RUN_CONFIG = (
    "num-server-rounds=2 local-steps=2 num-threads=1 round-timeout=180.0 "
    "synthetic.train-videos=4 synthetic.test-videos=1 synthetic.frames=4 "
    "synthetic.height=32 synthetic.width=32 vsr.gt-crop=32 vsr.num-frames=4 "
    "vsr.batch-size=2"
)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _wait_healthy(port: int, ca: Path, pidfile: Path, log: Path) -> None:
    """Wait until the SuperLink answers over TLS (verifying its certificate)."""
    context = ssl.create_default_context(cafile=str(ca))
    opener = urllib.request.build_opener(  # loopback: never through a proxy
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not alive(pid):
            pytest.fail(f"flower-superlink exited early:\n{_tail(log)}")
        try:
            url = f"https://127.0.0.1:{port}/health"
            with opener.open(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"flower-superlink was not healthy within 60 s:\n{_tail(log)}")


def _stop(env: dict, pidfiles: list[Path]) -> None:
    """Stop processes by the PIDs in ``pidfiles``: deploy/stop.sh, then SIGKILL."""
    pids = [int(p.read_text()) for p in pidfiles if p.exists()]
    if pidfiles:
        subprocess.run(
            [str(DEPLOY / "stop.sh"), *map(str, pidfiles)],
            env={**env, "STOP_TIMEOUT": "15"},
            timeout=60,
            check=False,
        )
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A TLS + SuperNode-auth SuperLink with two registered SuperNodes.

    Also starts a SuperNode whose key is not registered (as a child process,
    so that its exit code can be read). Yields a dict of paths, the
    environment and that process.
    """
    root = tmp_path_factory.mktemp("deploy")
    certs, keys, run_dir = root / "certs", root / "keys", root / "run"
    port = free_port()
    env = {
        **os.environ,
        "FLWR_HOME": str(root / "flwr-home"),
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
        "no_proxy": ",".join(filter(None, [os.environ.get("no_proxy"), LOOPBACK])),
        "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), LOOPBACK])),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    run_command(env, DEPLOY / "make-certs.sh", certs, "localhost", "127.0.0.1")
    run_command(env, DEPLOY / "make-supernode-keys.sh", keys, "3")
    pidfiles = [run_dir / "superlink.pid"]
    refused = None
    try:
        run_command(
            env,
            *(DEPLOY / "start-superlink.sh", "--certs", certs, "--run-dir", run_dir),
            *("--host", "127.0.0.1", "--port", str(port)),
        )
        _wait_healthy(port, certs / "ca.crt", pidfiles[0], run_dir / "superlink.log")
        address = f"127.0.0.1:{port}"
        ca = certs / "ca.crt"
        run_command(env, DEPLOY / "add-connection.sh", CONNECTION, address, ca)
        run_command(
            env,
            DEPLOY / "register-supernodes.sh",
            CONNECTION,
            keys / "supernode-1.pub",
            keys / "supernode-2.pub",
        )
        for index in (1, 2):
            name = f"supernode-{index}"
            pidfiles.append(run_dir / f"{name}.pid")
            run_command(
                env,
                *(DEPLOY / "start-supernode.sh", "--name", name),
                *("--superlink", address, "--ca", certs / "ca.crt"),
                *("--key", keys / name, "--run-dir", run_dir),
                *("--node-config", f"partition-id={index - 1} num-partitions=2"),
                *("--port", str(free_port())),
            )
        # supernode-3's public key was never registered.
        with open(run_dir / "unregistered.log", "w") as log:
            refused = subprocess.Popen(
                [
                    *("flower-supernode", "--superlink", address),
                    *("--root-certificates", str(certs / "ca.crt")),
                    *("--auth-supernode-private-key", str(keys / "supernode-3")),
                    *("--node-config", "partition-id=0 num-partitions=2"),
                    *("--port", str(free_port())),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        yield {"env": env, "root": root, "run_dir": run_dir, "refused": refused}
    finally:
        if refused is not None and refused.poll() is None:
            os.killpg(refused.pid, signal.SIGKILL)
            refused.wait()
        _stop(env, pidfiles)


def test_two_authenticated_supernodes_complete_two_rounds(deployment):
    env, run_dir = deployment["env"], deployment["run_dir"]
    out_dir = deployment["root"] / "outputs"
    output = run_command(
        env,
        *("flwr", "run", ".", CONNECTION, "--stream"),
        *("--run-config", f"{RUN_CONFIG} output-dir='{out_dir}'"),
        timeout=300,
    )
    logs = "\n".join(_tail(p, 1500) for p in sorted(run_dir.glob("*.log")))
    match = re.search(r"run (?:ID )?(\d+)", output, flags=re.IGNORECASE)
    assert match, output[-4000:]
    listing = run_command(
        env, "flwr", "list", CONNECTION, "--run-id", match.group(1), "--format", "json"
    )
    statuses = [run["status"] for run in json.loads(listing)["runs"]]
    assert statuses == ["finished:completed"], (statuses, output[-3000:], logs)

    results_files = list(out_dir.glob("*/results.json"))
    assert len(results_files) == 1, (output[-3000:], logs)
    results = json.loads(results_files[0].read_text())
    assert results["status"] == "completed"
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    clients = results["rounds"][-1]["clients"]
    assert sorted(c["metrics"]["partition_id"] for c in clients) == [0.0, 1.0]
    assert "psnr" in results["rounds"][-1]["evaluation"]
    assert (results_files[0].parent / "model.pt").stat().st_size > 0


def test_unregistered_supernode_is_refused(deployment):
    refused, run_dir = deployment["refused"], deployment["run_dir"]
    try:
        code = refused.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(
            "a SuperNode with an unregistered key was still running after 60 s:\n"
            + _tail(run_dir / "unregistered.log")
        )
    log = _tail(run_dir / "unregistered.log")
    assert code == 1, log
    assert f"Exit Code: {REFUSED_EXIT_CODE}" in log
    assert "Failed to activate SuperNode" in log
    superlink_log = (run_dir / "superlink.log").read_text(errors="replace")
    assert "No SuperNode found with the given public key" in superlink_log
