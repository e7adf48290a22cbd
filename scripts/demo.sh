#!/usr/bin/env bash
# The main job on the default model: set everything up, build, then quantize
# SmolLM2-135M to llama.cpp's Q4_K_M mix and to llmq's asymmetric INT4
# (group 64) with the embedding kept in per-channel INT8 (mixed precision by a
# --tensor-type rule), generate with each result, and measure what was lost (perplexity and KL
# divergence against the source on a slice of WikiText-2) and gained (size,
# speed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make >/dev/null
M=models/SmolLM2-135M-Instruct-Q4_1.gguf
TXT=../shared/data/wikitext-2/test.txt
echo "== llmq inspect $M =="
build/bin/llmq inspect "$M" | sed -n '1,4p;$p'
for spec in "Q4_K_M" "I4_G64A --tensor-type token_embd=I8_CH"; do
  t=${spec%% *}
  Q=models/SmolLM2-135M-Instruct-$t-llmq.gguf
  echo
  echo "== llmq quantize --type $spec =="
  # shellcheck disable=SC2086 # the spec holds several arguments
  build/bin/llmq quantize "$M" "$Q" --type $spec -t 2
  build/bin/llmq inspect "$Q" | sed -n '5p;$p'
  echo "== llmq run (greedy) =="
  build/bin/llmq run "$Q" -p "The history of the printing press" -n 48 --temp 0 -t 2
  echo
  echo "== llmq perplexity --kld-base (source), WikiText-2 test, 8 chunks of 512 tokens =="
  build/bin/llmq perplexity "$Q" -f "$TXT" --ctx 512 --chunks 8 -t 2 --kld-base "$M"
  echo "== llmq bench (prompt 128, generation 32 tokens) =="
  build/bin/llmq bench --no-formats --model "$Q" -t 2 --pp 128 --tg 32
done
