#!/usr/bin/env bash
# llmq quantize as a user runs it: every GGML type on stories260K, the result
# loads and generates, the bytes do not depend on the thread count, bad types
# are refused, and no partial file is left.
set -u
LLMQ=$1
D=../shared/models/stories260K
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { if eval "$1"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
for t in Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K F16 BF16; do
  "$LLMQ" quantize $D/stories260K.bin "$tmp/$t.gguf" --type $t --tokenizer $D/tok512.bin -t 2 2>"$tmp/err"
  ok '[ -s "$tmp/$t.gguf" ]' "quantize $t: $(cat "$tmp/err")"
  text=$("$LLMQ" run "$tmp/$t.gguf" -p "" -n 12 --temp 0 2>/dev/null)
  ok 'case "$text" in "Once upon a time"*) true;; *) false;; esac' "$t generates: $text"
done
"$LLMQ" inspect "$tmp/Q4_K.gguf" >"$tmp/i"
ok 'grep -q "blk.0.attn_q.weight  *Q5_0" "$tmp/i" && grep -q "blk.0.ffn_down.weight  *F16" "$tmp/i"' "Q4_K falls back per row size (Q5_0 for 64-wide rows, F16 for 172-wide)"
"$LLMQ" quantize $D/stories260K.bin "$tmp/t1.gguf" --type Q4_K --tokenizer $D/tok512.bin -t 1 2>/dev/null
"$LLMQ" quantize $D/stories260K.bin "$tmp/t2.gguf" --type Q4_K --tokenizer $D/tok512.bin -t 2 2>/dev/null
ok 'cmp -s "$tmp/t1.gguf" "$tmp/t2.gguf"' "1 and 2 threads give identical files"
"$LLMQ" quantize $D/stories260K.bin "$tmp/bad.gguf" --type Q9_9 --tokenizer $D/tok512.bin 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "unknown type: one line, exit 1, no file"
"$LLMQ" quantize $D/stories260K.bin "$tmp/x.gguf" --tokenizer $D/tok512.bin 2>/dev/null; rc=$?
ok '[ $rc = 2 ]' "missing --type is a usage error"
ok '[ -z "$(ls "$tmp" | grep tmp)" ]' "no temporary files left"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
