#!/usr/bin/env bash
# Stop SuperLink / SuperNode processes started by the start scripts, by PID.
set -euo pipefail

usage() {
    echo "usage: $0 PID_FILE ..." >&2
    echo "  SIGTERM to each process group, SIGKILL after STOP_TIMEOUT s (default 20)" >&2
    exit 2
}

[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
timeout=${STOP_TIMEOUT:-20}

# Running and not a zombie (an exited process nobody has reaped yet).
running() {
    local stat
    stat=$(ps -p "$1" -o stat= 2>/dev/null) && [[ $stat != Z* ]]
}

# Signal every process first, then wait for all of them.
pids=()
for pidfile in "$@"; do
    [[ -f $pidfile ]] || { echo "$pidfile: does not exist" >&2; continue; }
    pid=$(cat "$pidfile")
    rm -f "$pidfile"
    # Only a Flower process: the PID may have been reused since it was written.
    if ! [[ $pid =~ ^[0-9]+$ ]] || ! ps -p "$pid" -o args= | grep -q flower-super; then
        echo "$pidfile: PID $pid is not running (or is no Flower process)"
        continue
    fi
    # The start scripts use setsid: the group holds the ServerApp/ClientApp processes.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    pids+=("$pid")
done

for ((waited = 0; waited < timeout * 10; waited++)); do
    alive=()
    for pid in "${pids[@]}"; do
        if running "$pid"; then alive+=("$pid"); fi
    done
    [[ ${#alive[@]} -gt 0 ]] || break
    sleep 0.1
done
for pid in "${pids[@]}"; do
    if running "$pid"; then
        echo "PID $pid still running after $timeout s: SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    else
        echo "stopped PID $pid"
    fi
done
