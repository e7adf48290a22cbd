# Sourced by the comparison scripts that need llama.cpp's own command-line
# tools (llama-imatrix, llama-quantize with --imatrix), which the
# llama-cpp-python wheel does not ship: builds them from the llama.cpp
# source inside the same llama-cpp-python release's source archive, once,
# into .peers/tools. Sets PEERS_TOOLS to that folder.
. scripts/peers_env.sh
PEERS_TOOLS=.peers/tools
if [ ! -x "$PEERS_TOOLS/llama-quantize" ] || [ ! -x "$PEERS_TOOLS/llama-imatrix" ]; then
    ver=$("$PEERS_PY" -c 'import llama_cpp; print(llama_cpp.__version__)')
    src=.peers/src
    mkdir -p "$src" "$PEERS_TOOLS"
    ls "$src"/llama_cpp_python-"$ver".tar.gz >/dev/null 2>&1 ||
        "$PEERS_PY" -m pip download --quiet --no-deps --no-binary :all: -d "$src" "llama-cpp-python==$ver"
    [ -d "$src/llama_cpp_python-$ver" ] || tar -xzf "$src/llama_cpp_python-$ver.tar.gz" -C "$src"
    lc="$src/llama_cpp_python-$ver/vendor/llama.cpp"
    echo "peers: building llama-imatrix and llama-quantize from llama.cpp in llama-cpp-python $ver (minutes)" >&2
    cmake -S "$lc" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
    cmake --build "$src/build" -j2 --target llama-imatrix llama-quantize llama-perplexity >/dev/null
    cp "$src/build/bin/llama-imatrix" "$src/build/bin/llama-quantize" "$src/build/bin/llama-perplexity" "$PEERS_TOOLS/"
fi
