#!/usr/bin/env bash
# Add a TLS SuperLink connection to the flwr CLI's config.toml.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 NAME SUPERLINK_ADDRESS CA_CERT

Appends to \$FLWR_HOME/config.toml (default ~/.flwr/config.toml):

    [superlink.NAME]
    address = "SUPERLINK_ADDRESS"        # host:port of the SuperLink
    root-certificates = "/abs/path/ca.crt"

Then: flwr run . NAME --stream
USAGE
    exit 2
}

[[ $# -eq 3 ]] || usage
name=$1
address=$2
[[ -f $3 ]] || { echo "$0: CA certificate $3 does not exist" >&2; exit 1; }
ca=$(realpath "$3")
config="${FLWR_HOME:-$HOME/.flwr}/config.toml"

# Let flwr create its default config.toml first (it keeps the 'local' connection).
[[ -f $config ]] || flwr config list >/dev/null
if grep -q "^\[superlink\.$name\]" "$config"; then
    echo "$0: $config already has [superlink.$name]; edit it there" >&2
    exit 1
fi
printf '\n[superlink.%s]\naddress = "%s"\nroot-certificates = "%s"\n' \
    "$name" "$address" "$ca" >>"$config"
echo "added [superlink.$name] to $config"
