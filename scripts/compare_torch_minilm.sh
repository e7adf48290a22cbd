#!/usr/bin/env bash
# llmq dynamic-int8 vs PyTorch quantize_dynamic on all-MiniLM-L6-v2 (speed
# and cosine to float; see scripts/compare_torch_minilm.py). Installs torch,
# numpy, safetensors and tokenizers into the .peers venv when missing (plain
# pip; Debian's python3-torch is the fallback), writes the F32 and
# dynamic-int8 GGUF files with llmq, picks 256 WikiText-2 test sentences.
#   usage: scripts/compare_torch_minilm.sh [LLMQ_BINARY] [REPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
LLMQ=${1:-build/bin/llmq}
REPS=${2:-10}
ROUNDS=${3:-3}
M=models/all-MiniLM-L6-v2
VENV=.peers
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import torch, numpy, safetensors, tokenizers' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet torch numpy safetensors tokenizers || {
        echo "pip install torch failed: trying Debian's python3-torch" >&2
        apt-get install -y python3-torch python3-numpy >/dev/null
        rm -rf "$VENV"; python3 -m venv --system-site-packages "$VENV"
        "$VENV/bin/pip" install --quiet safetensors tokenizers
    }
fi
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
"$LLMQ" convert $M "$D/f32.gguf" 2>/dev/null
"$LLMQ" quantize $M "$D/int8.gguf" --scheme dynamic-int8 2>/dev/null
python3 scripts/minilm_sentences.py test 256 >"$D/test.txt"
echo "llmq: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), isa $("$LLMQ" bench --types F32 --rows 16 --cols 16 --reps 1 --bw-mib 1 -t 1 | sed -n 's/^isa \([a-z0-9]*\).*/\1/p'); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$VENV/bin/python" scripts/compare_torch_minilm.py "$LLMQ" $M "$D/f32.gguf" "$D/int8.gguf" "$D/test.txt" "$REPS" "$ROUNDS"
