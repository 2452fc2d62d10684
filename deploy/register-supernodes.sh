#!/usr/bin/env bash
# Register SuperNode public keys with a SuperLink started with --enable-supernode-auth.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 CONNECTION PUBLIC_KEY ...

Runs 'flwr supernode register PUBLIC_KEY CONNECTION' for every key; CONNECTION
is a [superlink.<name>] of config.toml (see add-connection.sh).
USAGE
    exit 2
}

[[ $# -ge 2 ]] || usage
connection=$1
shift
for key in "$@"; do
    [[ -f $key ]] || { echo "$0: public key $key does not exist" >&2; exit 1; }
    flwr supernode register "$key" "$connection"
done
