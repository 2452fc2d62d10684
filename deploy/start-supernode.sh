#!/usr/bin/env bash
# Start an authenticated SuperNode (TLS) in the background.
set -euo pipefail
# shellcheck source=deploy/launch.sh
source "$(dirname "$0")/launch.sh"

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
require_command flower-supernode
launch "$run_dir/$name.pid" "$run_dir/$name.log" \
    flower-supernode \
    --superlink "$superlink" \
    --root-certificates "$ca" \
    --auth-supernode-private-key "$key" \
    --node-config "$node_config" \
    --port "$port"
echo "SuperNode $name PID $launched_pid; log $run_dir/$name.log; pid file $run_dir/$name.pid"
