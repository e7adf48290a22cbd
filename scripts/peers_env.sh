# Sourced by the comparison scripts: creates the .peers virtual environment
# with llama-cpp-python (built from source for this CPU), numpy and gguf when
# it is missing, and sets PEERS_PY to its python.
VENV=.peers
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import llama_cpp, numpy, gguf' 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/pip" install --quiet llama-cpp-python numpy gguf
fi
PEERS_PY="$VENV/bin/python"
