#!/usr/bin/env bash
# The documented commands, run as a user would: inspect, perplexity --json,
# embed (TEXT arguments and -f FILE), --help of every subcommand.
set -u
LLMQ=$1
D=../shared/models/stories260K
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { if eval "$1"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }

for c in inspect run embed perplexity convert quantize bench; do
  ok '"$LLMQ" $c --help | grep -q "^usage: llmq $c"' "$c --help"
done
"$LLMQ" inspect $D/stories260K.bin >"$tmp/i" 2>&1
ok 'grep -q "layers 5, heads 8 (kv 4)" "$tmp/i" && grep -q "blk.4.ffn_down.weight" "$tmp/i" && grep -q "32.000 bits per weight" "$tmp/i"' "inspect stories260K"

"$LLMQ" perplexity $D/stories260K.bin --tokenizer $D/tok512.bin -f ../shared/data/wikitext-2/valid.txt \
  --ctx 128 --chunks 4 -t 2 --json >"$tmp/p" 2>/dev/null
cat "$tmp/p"
ok 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"chunks\"]==4 and 1<d[\"ppl\"]<10000 and d[\"ppl_err\"]>0 and d[\"tokens\"]>512 and d[\"seconds\"]>0" "$tmp/p"' "perplexity --json"

# bench: every figure printed for each type, matrix and thread count; a model's tok/s
"$LLMQ" bench --types Q4_0,Q4_K,I4_G64S,F16 --rows 64 --cols 512 --reps 2 --bw-mib 8 >"$tmp/b" 2>&1
cat "$tmp/b"
ok '[ "$(grep -cE "^(Q4_0|Q4_K|I4_G64S|F16) +(large|cached) +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+%$" "$tmp/b")" = 16 ]' \
  "bench: 4 types x 2 matrices x 2 thread counts, no fallback"
"$LLMQ" convert $D/stories260K.bin "$tmp/s.gguf" --tokenizer $D/tok512.bin 2>/dev/null
"$LLMQ" bench --no-formats --model "$tmp/s.gguf" --pp 32 --tg 8 -t 1 >"$tmp/bm" 2>&1
ok 'grep -qE "prompt 32 tokens [0-9.]+ tok/s, generation 8 tokens [0-9.]+ tok/s" "$tmp/bm"' "bench --model"
"$LLMQ" bench --types NOPE --rows 64 --cols 512 --reps 1 --bw-mib 8 -t 1 >/dev/null 2>"$tmp/be"; rc=$?
ok '[ $rc = 1 ] && grep -q "unknown or unsupported type" "$tmp/be"' "bench: unknown type is one error line, exit 1"

M=models/all-MiniLM-L6-v2
if [ -d "$M" ]; then
  "$LLMQ" embed "$M" "The cat sat on the mat." "A dog ran in the park." >"$tmp/e" 2>"$tmp/ee"
  ok '[ "$(wc -l <"$tmp/e")" = 2 ] && [ "$(head -n1 "$tmp/e" | wc -w)" = 384 ]' "embed TEXT: 2 lines of 384 numbers"
  printf 'The cat sat on the mat.\nA dog ran in the park.\n' >"$tmp/in.txt"
  "$LLMQ" embed "$M" -f "$tmp/in.txt" >"$tmp/f" 2>/dev/null
  ok 'cmp -s "$tmp/e" "$tmp/f"' "embed -f FILE equals embed TEXT"
  ok 'python3 -c "import sys,math; v=[float(x) for x in open(sys.argv[1]).readline().split()]; assert abs(math.sqrt(sum(x*x for x in v))-1)<1e-4" "$tmp/e"' "embedding is unit length"
else
  fail=$((fail+1)); echo "FAIL: $M missing (run scripts/setup.sh)"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
