#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with libFuzzer (clang), ASan+UBSan.
# usage: scripts/fuzz.sh [SECONDS]   (default 120). Crashes land in build-fuzz/crash-*.
# The first byte of an input picks the parser: 0 GGUF (+ its tokenizer),
# 1 safetensors, 2 llama2.c checkpoint, 3 tokenizer.bin / tokenizer.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-120}
command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DLLMQ_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_parsers >/dev/null
seeds=build-fuzz/seeds; mkdir -p "$seeds" build-fuzz/corpus
python3 - "$seeds" <<'PY'
import json, struct, sys
d = sys.argv[1]
def seed(name, tag, data):
    open(f"{d}/{name}", "wb").write(bytes([tag]) + data)
seed("gguf", 0, open("tests/fixtures/tokenizer/tok512_spm.gguf.fixture", "rb").read())
hdr = json.dumps({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                  "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]}}).encode()
seed("safetensors", 1, struct.pack("<Q", len(hdr)) + hdr + bytes(32))
seed("llama2c", 2, open("../shared/models/stories260K/stories260K.bin", "rb").read()[:65536])
seed("tokbin", 3, open("../shared/models/stories260K/tok512.bin", "rb").read())
seed("tokjson", 3, open("tests/fixtures/tokenizer/tiny_bpe_tokenizer.json", "rb").read())
PY
cd build-fuzz
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_parsers -max_total_time="$SECS" -max_len=131072 -print_final_stats=1 corpus seeds
