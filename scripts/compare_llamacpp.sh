#!/usr/bin/env bash
# Side-by-side comparison of llmq with llama.cpp (llama-cpp-python).
# Creates the .peers virtual environment when needed, then runs
# scripts/compare_llamacpp.py with the given arguments, e.g.
#   scripts/compare_llamacpp.sh --ctx 512 --chunks 20 --threads 2 --write-doc
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.peers
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import llama_cpp, numpy, gguf' 2>/dev/null; then
    # builds llama.cpp from source for this CPU
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/pip" install --quiet llama-cpp-python numpy gguf
fi
exec "$VENV/bin/python" scripts/compare_llamacpp.py "$@"
