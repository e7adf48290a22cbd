#!/usr/bin/env bash
# Side-by-side comparison of llmq with llama.cpp (llama-cpp-python).
# Creates the .peers virtual environment when needed, then runs
# scripts/compare_llamacpp.py with the given arguments, e.g.
#   scripts/compare_llamacpp.sh --ctx 512 --chunks 20 --threads 2 --write-doc
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
exec "$PEERS_PY" scripts/compare_llamacpp.py "$@"
