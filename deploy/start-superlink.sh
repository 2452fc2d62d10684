#!/usr/bin/env bash
# Start a SuperLink with TLS and SuperNode authentication, in the background.
set -euo pipefail
# shellcheck source=deploy/launch.sh
source "$(dirname "$0")/launch.sh"

usage() {
    cat >&2 <<USAGE
usage: $0 --certs DIR --run-dir DIR [--host HOST] [--port PORT]

  --certs DIR    folder with ca.crt, server.pem, server.key (make-certs.sh)
  --run-dir DIR  gets state.db (runs, registered SuperNodes), superlink.log
                 and superlink.pid (stop with: deploy/stop.sh DIR/superlink.pid)
  --host HOST    address to listen on (default 0.0.0.0: every interface)
  --port PORT    the one port of all SuperLink APIs: SuperNodes and flwr
                 connect to HOST:PORT (default 9093)

Run it where 'flower-superlink' and fedvideo are installed (activate the venv):
the ServerApp runs in this environment, as app dependencies are not installed
at run time (--disable-runtime-dependency-installation).
USAGE
    exit 2
}

certs="" run_dir="" host=0.0.0.0 port=9093
while [[ $# -gt 0 ]]; do
    case $1 in
        --certs) certs=${2:?}; shift 2 ;;
        --run-dir) run_dir=${2:?}; shift 2 ;;
        --host) host=${2:?}; shift 2 ;;
        --port) port=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
[[ -n $certs && -n $run_dir ]] || usage
for file in ca.crt server.pem server.key; do
    [[ -f $certs/$file ]] || { echo "$0: $certs/$file does not exist (make-certs.sh)" >&2; exit 1; }
done
require_command flower-superlink
launch "$run_dir/superlink.pid" "$run_dir/superlink.log" \
    flower-superlink \
    --ssl-ca-certfile "$certs/ca.crt" \
    --ssl-certfile "$certs/server.pem" \
    --ssl-keyfile "$certs/server.key" \
    --enable-supernode-auth \
    --disable-runtime-dependency-installation \
    --database "$run_dir/state.db" \
    --host "$host" --port "$port"
echo "SuperLink PID $launched_pid on $host:$port; log $run_dir/superlink.log; pid file $run_dir/superlink.pid"
