#!/usr/bin/env bash
# Calibrated-quantization table (llmq's methods beside llama.cpp with and
# without imatrix): sets up .peers then runs
# scripts/quality_calib.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
exec "$PEERS_PY" scripts/quality_calib.py "$@"
