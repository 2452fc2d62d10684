#!/usr/bin/env bash
# Make a self-signed CA and a SuperLink server certificate signed by it.
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 OUT_DIR [HOST_OR_IP ...]

Writes OUT_DIR/ca.crt, ca.key (keep private), server.pem and server.key. The
server certificate's subjectAltName lists every HOST_OR_IP by which SuperNodes
and the flwr CLI reach the SuperLink, e.g. superlink.example.org 10.0.0.5.
localhost and 127.0.0.1 are always added: the SuperLink's own ServerApp
runner connects to it over loopback. Give ca.crt to every SuperNode and to
every machine that runs flwr.
USAGE
    exit 2
}

[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }
out=$1
shift
names=("$@" localhost 127.0.0.1)
days=${CERT_DAYS:-825}

if [[ -e $out/server.pem || -e $out/ca.crt ]]; then
    echo "$0: $out already holds certificates; remove them or choose another folder" >&2
    exit 1
fi
mkdir -p "$out"

# IPv4 and IPv6 addresses become IP entries, everything else a DNS entry.
san=""
for name in "${names[@]}"; do
    [[ ,$san, != *":$name,"* ]] || continue  # listed already
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
        san+="${san:+,}IP:$name"
    else
        san+="${san:+,}DNS:$name"
    fi
done

# Our own openssl config: the result does not depend on the system's openssl.cnf.
cnf=$(mktemp)
trap 'rm -f "$cnf" "$out/server.csr" "$out/ca.srl"' EXIT
cat >"$cnf" <<CNF
[req]
distinguished_name = dn
x509_extensions = ca
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
subjectAltName = $san
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
CNF

# Run openssl quietly; show its output only when it fails.
quiet() {
    local log
    log=$("$@" 2>&1) || { echo "$log" >&2; echo "$0: failed: $*" >&2; exit 1; }
}
# ECDSA P-256 keys: fast to make, supported by every TLS stack Flower uses.
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256)
quiet openssl req -x509 "${newkey[@]}" -config "$cnf" -days "$days" \
    -keyout "$out/ca.key" -out "$out/ca.crt" -subj "/CN=fedvideo-ca"
quiet openssl req -new "${newkey[@]}" -config "$cnf" \
    -keyout "$out/server.key" -out "$out/server.csr" -subj "/CN=${names[0]}"
quiet openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$cnf" -extensions server \
    -out "$out/server.pem"
chmod 600 "$out/ca.key" "$out/server.key"

echo "CA certificate:     $out/ca.crt"
echo "server certificate: $out/server.pem (subjectAltName $san)"
echo "server key:         $out/server.key"
