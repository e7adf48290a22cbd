#!/usr/bin/env bash
# Quality table of every preset and format: sets up .peers like
# compare_llamacpp.sh, then runs scripts/quality_table.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
exec "$PEERS_PY" scripts/quality_table.py "$@"
