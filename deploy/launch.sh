# Shared by start-superlink.sh and start-supernode.sh (sourced, not run).

# Exit with a message unless command $1 is on PATH.
require_command() {
    command -v "$1" >/dev/null || { echo "$0: $1 not on PATH (activate the venv)" >&2; exit 1; }
}

# launch PIDFILE LOG COMMAND...: start COMMAND in the background as the leader of
# its own process group (setsid, so stop.sh also stops the app processes it
# starts), appending its output to LOG and its PID to PIDFILE. Refuses when
# PIDFILE names a process that still runs.
launch() {
    local pidfile=$1 log=$2
    shift 2
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")"
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$0: a process from $pidfile is running (PID $(cat "$pidfile"))" >&2
        exit 1
    fi
    setsid "$@" >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    launched_pid=$!
}
