#!/usr/bin/env bash
# W8A8 / INT8 KV cache quality table: sets up .peers, then runs
# scripts/quality_w8a8.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
exec "$PEERS_PY" scripts/quality_w8a8.py "$@"
