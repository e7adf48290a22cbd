#!/usr/bin/env bash
# GEMV per format, llmq beside llama.cpp (ggml through llama-cpp-python's
# libraries). Sets up .peers like compare_llamacpp.sh, then runs
# scripts/compare_gemv_llamacpp.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
exec "$PEERS_PY" scripts/compare_gemv_llamacpp.py "$@"
