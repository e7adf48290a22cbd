#!/usr/bin/env bash
# The main job on the default model: set everything up, build, then inspect
# SmolLM2-135M, generate a few sentences and measure its perplexity on a slice
# of WikiText-2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make >/dev/null
M=models/SmolLM2-135M-Instruct-Q4_1.gguf
echo "== llmq inspect $M (first tensors) =="
info=$(build/bin/llmq inspect "$M")
printf '%s\n' "$info" | sed -n '1,12p'
echo "  ..."
printf '%s\n' "$info" | tail -n 1
echo
echo "== llmq run: greedy generation =="
build/bin/llmq run "$M" -p "The history of the printing press" -n 64 --temp 0 -t 2
echo
echo "== llmq perplexity: WikiText-2 test, 8 chunks of 512 tokens =="
build/bin/llmq perplexity "$M" -f ../shared/data/wikitext-2/test.txt --ctx 512 --chunks 8 -t 2
