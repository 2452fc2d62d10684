"""A private local SuperLink for end-to-end ``flwr`` tests.

:func:`superlink` starts a simulation SuperLink (runtime dependency installation
disabled) on free ports with a private ``FLWR_HOME`` and stops it, with
everything it started, by process id. :func:`flwr` runs the CLI against it;
:func:`submit` starts a run and returns its id, :func:`run_status` reads the
status that ``flwr run --stream`` does not reflect in its exit code, and
:func:`kill_simulations` ends the simulation processes of a SuperLink at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

requires_superlink = pytest.mark.skipif(
    shutil.which("flower-superlink") is None, reason="flower-superlink not on PATH"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"flower-superlink exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail("flower-superlink did not become healthy within 60 s")


@dataclasses.dataclass(frozen=True)
class SuperLink:
    """A running SuperLink: the environment that reaches it and its process id."""

    env: dict[str, str]
    pid: int


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (Linux ``/proc``; else none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process has ended
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _proc_text(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""  # the process has ended


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, killed but not reaped, does not)."""
    stat = _proc_text(pid, "stat")
    return bool(stat) and stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_simulations(link: SuperLink, timeout: float = 30) -> int:
    """SIGKILL the SuperLink's ``flwr-simulation`` processes and all they started.

    A crash of the simulation (ServerApp, ClientApps and Ray) at once; returns
    when those processes are dead, with how many simulations there were.
    """
    simulations = [
        pid
        for pid in descendants(link.pid)
        if "flwr-simulation" in _proc_text(pid, "cmdline")
    ]
    doomed = simulations + [d for pid in simulations for d in descendants(pid)]
    _signal_all(doomed, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in doomed):
        if time.monotonic() > deadline:
            pytest.fail(f"processes {doomed} still alive {timeout} s after SIGKILL")
        time.sleep(0.05)
    return len(simulations)


@contextlib.contextmanager
def superlink(
    tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[SuperLink]:
    """Start a simulation SuperLink and stop it with every process it started.

    Its apps inherit ``extra_env``. The SuperExec it starts runs in a session of
    its own, with the simulations and Ray, so all descendants are signalled.
    """
    http_port, control_port = free_port(), free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "FLWR_HOME": str(tmp_path / "flwr-home"),
        "FLWR_LOCAL_SUPERLINK_HTTP_API_PORT": str(http_port),
        "FLWR_LOCAL_CONTROL_API_PORT": str(control_port),
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    log = tmp_path / "superlink.log"
    command = [
        "flower-superlink",
        "--insecure",
        "--simulation",
        "--isolation",
        "subprocess",
        "--control-api-address",
        f"127.0.0.1:{control_port}",
        "--host",
        "127.0.0.1",
        "--port",
        str(http_port),
        "--disable-runtime-dependency-installation",
        "--database",
        str(tmp_path / "state.db"),
    ]
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(http_port, process, log)
        yield SuperLink(env, process.pid)
    finally:
        # Stop the SuperLink and everything it started by PID: its own process
        # group, and the SuperExec's session (simulations, Ray) found beforehand.
        started = descendants(process.pid)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _signal_all(started, signal.SIGTERM)


def run_command(env: dict, *command: str | Path, timeout: float = 600) -> str:
    """Run a command in the repository; fail the test unless it exits 0."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{output}"
    return output


def flwr(env: dict, *args: str, timeout: float = 600) -> str:
    """Run ``flwr *args`` in the repository; fail the test if it fails."""
    return run_command(env, "flwr", *args, timeout=timeout)


def submit(
    env: dict, run_config: str, num_supernodes: int = 2, stream: bool = True
) -> tuple[str, str]:
    """``flwr run .``; return the run id and the output.

    With ``stream`` the call returns when the run has ended; without, right
    after the run was submitted.
    """
    output = flwr(
        env,
        "run",
        ".",
        "--run-config",
        run_config,
        "--federation-config",
        f"num-supernodes={num_supernodes} client-resources-num-cpus=1",
        *(["--stream"] if stream else []),
    )
    match = re.search(r"run (?:ID )?(\d+)", output, flags=re.IGNORECASE)
    assert match, output
    return match.group(1), output


def run_status(env: dict, run_id: str) -> str:
    """The run's status, e.g. ``finished:completed`` or ``running``."""
    listing = json.loads(flwr(env, "list", "--run-id", run_id, "--format", "json"))
    (run,) = listing["runs"]
    return run["status"]
