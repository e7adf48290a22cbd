#!/usr/bin/env bash
# GEMV per format, llmq beside llama.cpp (ggml through llama-cpp-python's
# libraries). Sets up .peers like compare_llamacpp.sh, then runs
# scripts/compare_gemv_llamacpp.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.peers
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import llama_cpp, numpy' 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/pip" install --quiet llama-cpp-python numpy gguf
fi
exec "$VENV/bin/python" scripts/compare_gemv_llamacpp.py "$@"
