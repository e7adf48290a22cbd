#!/usr/bin/env bash
# Interleaved generation speed of llmq binaries (e.g. a copy built at an
# earlier commit against the current build): each round runs every binary
# once on the same prompt (the first 2600 bytes of wikitext-2 test, ~730
# tokens) and 128 generated tokens, so the machine's drift hits all alike.
# Prints per binary the median generation tok/s and all runs.
#   scripts/ab_generate.sh ROUNDS KV_TYPE BINARY... [-- MODEL]
#   e.g. scripts/ab_generate.sh 5 f16 /tmp/llmq-old build/bin/llmq
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: scripts/ab_generate.sh ROUNDS KV_TYPE BINARY... [-- MODEL]" >&2; exit 2; }
rounds=$1 kv=$2
shift 2
bins=()
model=models/quality/llmq-Q4_K_M.gguf
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then model=$2; break; fi
    bins+=("$1")
    shift
done
prompt="$(head -c 2600 ../shared/data/wikitext-2/test.txt)"
declare -A runs
for _ in $(seq "$rounds"); do
    for b in "${bins[@]}"; do
        v=$("$b" run "$model" -p "$prompt" -n 128 --temp 0 -t 2 --kv-type "$kv" 2>&1 >/dev/null |
            sed -n 's/.*generation 128 tokens, \([0-9.]*\) tok.*/\1/p')
        runs[$b]="${runs[$b]:-} ${v:-failed}"
    done
done
for b in "${bins[@]}"; do
    med=$(tr ' ' '\n' <<<"${runs[$b]}" | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    echo "$b: median $med tok/s, runs:${runs[$b]}"
done
