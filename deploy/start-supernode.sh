#!/usr/bin/env bash
# Start an authenticated SuperNode (TLS) in the background.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 --name NAME --superlink HOST:PORT --ca CA_CERT --key PRIVATE_KEY
          --node-config CONFIG --run-dir DIR [--port PORT]

  --name NAME          names DIR/NAME.log and DIR/NAME.pid
                       (stop with: deploy/stop.sh DIR/NAME.pid)
  --superlink H:P      the SuperLink's address, a name in its certificate
  --ca CA_CERT         ca.crt of make-certs.sh
  --key PRIVATE_KEY    this SuperNode's private key (make-supernode-keys.sh),
                       its .pub registered with register-supernodes.sh
  --node-config CONFIG "partition-id=0 num-partitions=2" (a share of the run's
                       dataset) or "data-dir='/data/REDS' partition-id=0" (this
                       machine's own data)
  --port PORT          this SuperNode's local ClientApp API port (default 9094;
                       every SuperNode on one machine needs its own)

Environment such as CUDA_VISIBLE_DEVICES=1 passes on to the ClientApp.
USAGE
    exit 2
}

name="" superlink="" ca="" key="" node_config="" run_dir="" port=9094
while [[ $# -gt 0 ]]; do
    case $1 in
        --name) name=${2:?}; shift 2 ;;
        --superlink) superlink=${2:?}; shift 2 ;;
        --ca) ca=${2:?}; shift 2 ;;
        --key) key=${2:?}; shift 2 ;;
        --node-config) node_config=${2:?}; shift 2 ;;
        --run-dir) run_dir=${2:?}; shift 2 ;;
        --port) port=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
[[ -n $name && -n $superlink && -n $ca && -n $key && -n $node_config && -n $run_dir ]] || usage
for file in "$ca" "$key"; do
    [[ -f $file ]] || { echo "$0: $file does not exist" >&2; exit 1; }
done
command -v flower-supernode >/dev/null || { echo "$0: flower-supernode not on PATH (activate the venv)" >&2; exit 1; }
mkdir -p "$run_dir"
pidfile="$run_dir/$name.pid"
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$0: a SuperNode from $pidfile is running (PID $(cat "$pidfile"))" >&2
    exit 1
fi

# setsid: the SuperNode leads its own process group (with its ClientApp processes).
setsid flower-supernode \
    --superlink "$superlink" \
    --root-certificates "$ca" \
    --auth-supernode-private-key "$key" \
    --node-config "$node_config" \
    --port "$port" \
    >>"$run_dir/$name.log" 2>&1 </dev/null &
echo $! >"$pidfile"
echo "SuperNode $name PID $!; log $run_dir/$name.log; pid file $pidfile"
