#!/usr/bin/env bash
# Quality table of every preset and format: sets up .peers like
# compare_llamacpp.sh, then runs scripts/quality_table.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.peers
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import llama_cpp, numpy' 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/pip" install --quiet llama-cpp-python numpy gguf
fi
exec "$VENV/bin/python" scripts/quality_table.py "$@"
