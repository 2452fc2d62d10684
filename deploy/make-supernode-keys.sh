#!/usr/bin/env bash
# Make SuperNode authentication key pairs (ECDSA P-384, no passphrase).
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 OUT_DIR NUM_SUPERNODES [NAME_PREFIX]

Writes OUT_DIR/<prefix>-1 ... <prefix>-N (private keys, stay on the SuperNode)
and the matching .pub files (registered with 'flwr supernode register').
NAME_PREFIX defaults to 'supernode'.
USAGE
    exit 2
}

[[ $# -ge 2 && $1 != -h && $1 != --help ]] || usage
command -v ssh-keygen >/dev/null || { echo "$0: ssh-keygen not found" >&2; exit 1; }
out=$1
count=$2
prefix=${3:-supernode}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "$0: NUM_SUPERNODES must be >= 1, got '$count'" >&2; exit 2; }

mkdir -p "$out"
for ((i = 1; i <= count; i++)); do
    key="$out/$prefix-$i"
    if [[ -e $key || -e $key.pub ]]; then
        echo "$0: $key already exists; remove it or choose another folder" >&2
        exit 1
    fi
    ssh-keygen -q -t ecdsa -b 384 -N "" -C "$prefix-$i" -f "$key"
    echo "$key (public: $key.pub)"
done
