#!/usr/bin/env bash
# GPU smoke run (docs/deployment.md): every task for 2 rounds through `flwr run`
# with GPUs reserved and mixed precision, one train step of every bundled VSR
# model and of CtP's R3D-18, timings and peak GPU memory in one JSON file.
# Usage: scripts/gpu_smoke.sh [--out DIR] [--allow-cpu]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python scripts/gpu_smoke.py "$@"
