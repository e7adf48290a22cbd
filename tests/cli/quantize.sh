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
for t in Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL MXFP4 Q2_K Q3_K Q4_K Q5_K Q6_K F16 BF16 \
         I8_CH I8_G32S I4_G32S I4_G64A I4_G128S NF4 F8_E4M3_CH F8_E4M3_G32; do
  "$LLMQ" quantize $D/stories260K.bin "$tmp/$t.gguf" --type $t --tokenizer $D/tok512.bin -t 2 2>"$tmp/err"
  ok '[ -s "$tmp/$t.gguf" ]' "quantize $t: $(cat "$tmp/err")"
  text=$("$LLMQ" run "$tmp/$t.gguf" -p "" -n 12 --temp 0 2>/dev/null)
  ok 'case "$text" in "Once upon a time"*) true;; *) false;; esac' "$t generates: $text"
done
"$LLMQ" inspect "$tmp/Q4_K.gguf" >"$tmp/i"
ok 'grep -q "blk.0.attn_q.weight  *Q5_0" "$tmp/i" && grep -q "blk.0.ffn_down.weight  *F16" "$tmp/i"' "Q4_K falls back per row size (Q5_0 for 64-wide rows, F16 for 172-wide)"
# mixes choose per tensor as llama-quantize does; --pure gives one type everywhere
"$LLMQ" quantize $D/stories260K.bin "$tmp/m.gguf" --type Q4_K_M --tokenizer $D/tok512.bin 2>/dev/null
"$LLMQ" inspect "$tmp/m.gguf" >"$tmp/mi"
ok 'grep -q "blk.2.attn_v.weight  *Q8_0" "$tmp/mi" && grep -q "blk.1.attn_v.weight  *Q5_0" "$tmp/mi" && grep -q "token_embd.weight  *Q8_0" "$tmp/mi"' "Q4_K_M mix (attn_v of layers 2 and 4 get more bits)"
"$LLMQ" quantize $D/stories260K.bin "$tmp/p.gguf" --type Q4_K_M --pure --tokenizer $D/tok512.bin 2>/dev/null
"$LLMQ" inspect "$tmp/p.gguf" >"$tmp/pi"
ok 'grep -q "blk.2.attn_v.weight  *Q5_0" "$tmp/pi" && grep -q "token_embd.weight  *Q5_0" "$tmp/pi"' "--pure Q4_K_M: one type everywhere"
ok 'grep -aq "llmq.quantize.options" "$tmp/p.gguf" && grep -aq -- "--type Q4_K_M --pure" "$tmp/p.gguf" && grep -aq "llmq.source.weights_fnv1a64" "$tmp/p.gguf"' \
  "metadata records the request and the source checksum"
ok 'grep -qE "^quantized: +method rtn, --type Q4_K_M --pure --method rtn, source weights checksum [0-9a-f]{16}$" "$tmp/pi"' \
  "inspect shows how the file was made"
"$LLMQ" quantize $D/stories260K.bin "$tmp/p2.gguf" --type Q4_K_M --pure --method rtn --tokenizer $D/tok512.bin 2>/dev/null
ok 'cmp -s "$tmp/p.gguf" "$tmp/p2.gguf"' "--method rtn is the default"
"$LLMQ" quantize $D/stories260K.bin "$tmp/p3.gguf" --type Q4_0 --method nope --tokenizer $D/tok512.bin 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/p3.gguf" ]' "unknown --method: usage error, no file"
"$LLMQ" inspect "$tmp/I4_G128S.gguf" >"$tmp/gi"
ok 'grep -q "blk.0.attn_q.weight  *I4_G64S" "$tmp/gi" && grep -q "blk.0.ffn_down.weight  *F16" "$tmp/gi"' \
  "llmq group types: inspect names them; G128 halves to G64 for 64-wide rows, 172-wide rows stay F16"
"$LLMQ" quantize $D/stories260K.bin "$tmp/s.gguf" --type Q2_K_S --tokenizer $D/tok512.bin 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && grep -q "importance matrix" "$tmp/err"' "Q2_K_S refused without an importance matrix"

# --tensor-type overrides: first matching rule wins, row-size fallbacks still apply
"$LLMQ" quantize $D/stories260K.bin "$tmp/r.gguf" --type Q4_0 --tensor-type 'attn_v|ffn_down=Q8_0' \
  --tensor-type 'blk\.0\..*=Q5_1' --tokenizer $D/tok512.bin 2>/dev/null
"$LLMQ" inspect "$tmp/r.gguf" >"$tmp/ri"
ok 'grep -q "blk.1.attn_v.weight  *Q8_0" "$tmp/ri" && grep -q "blk.0.attn_v.weight  *Q8_0" "$tmp/ri" && grep -q "blk.0.attn_q.weight  *Q5_1" "$tmp/ri" && grep -q "blk.1.attn_q.weight  *Q4_0" "$tmp/ri" && grep -q "blk.1.ffn_down.weight  *F16" "$tmp/ri"' "--tensor-type rules"
"$LLMQ" quantize $D/stories260K.bin "$tmp/bad2.gguf" --type Q4_0 --tensor-type 'attn_v(=Q8_0' --tokenizer $D/tok512.bin 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && grep -q "bad regex" "$tmp/err" && [ ! -e "$tmp/bad2.gguf" ]' "bad --tensor-type regex refused"
"$LLMQ" quantize $D/stories260K.bin "$tmp/t1.gguf" --type Q4_K --tokenizer $D/tok512.bin -t 1 2>/dev/null
"$LLMQ" quantize $D/stories260K.bin "$tmp/t2.gguf" --type Q4_K --tokenizer $D/tok512.bin -t 2 2>/dev/null
ok 'cmp -s "$tmp/t1.gguf" "$tmp/t2.gguf"' "1 and 2 threads give identical files"
"$LLMQ" quantize $D/stories260K.bin "$tmp/bad.gguf" --type Q9_9 --tokenizer $D/tok512.bin 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "unknown type: one line, exit 1, no file"
"$LLMQ" quantize $D/stories260K.bin "$tmp/x.gguf" --tokenizer $D/tok512.bin 2>/dev/null; rc=$?
ok '[ $rc = 2 ]' "missing --type is a usage error"
ok '[ -z "$(ls "$tmp" | grep tmp)" ]' "no temporary files left"
# KL divergence against the float model: zero against itself, small for Q8_0, larger for Q4_0
TXT=../shared/data/wikitext-2/valid.txt
kld() { "$LLMQ" perplexity "$@" --kld-base $D/stories260K.bin -f $TXT --ctx 128 --chunks 4 --json 2>/dev/null; }
kld $D/stories260K.bin --tokenizer $D/tok512.bin >"$tmp/k0"
kld "$tmp/Q8_0.gguf" >"$tmp/k8"
kld "$tmp/Q4_0.gguf" >"$tmp/k4"
cat "$tmp/k0" "$tmp/k8" "$tmp/k4"
ok 'python3 - "$tmp" <<PY
import json, sys
d = sys.argv[1]
k0, k8, k4 = (json.load(open(f"{d}/{n}")) for n in ("k0", "k8", "k4"))
assert abs(k0["kld"]) < 1e-9 and k0["top1"] == 1.0 and k0["delta_ppl"] == 0, k0
assert 0 < k8["kld"] < 0.01 and k8["top1"] > 0.95, k8
assert k8["kld"] < k4["kld"] and k4["top1"] < 1.0, (k8, k4)
# the GGUF files tokenize with the SentencePiece rules of llama.cpp, which differ
# from the llama2.c encoder on this text: compare base perplexities among them
assert abs(k4["base_ppl"] - k8["base_ppl"]) < 1e-6 * k8["base_ppl"], (k4, k8)
PY' "KL divergence: 0 against itself, Q8_0 < Q4_0"
# base logits saved once, then read instead of running the base model: same figures
kld "$tmp/Q4_0.gguf" --kld-base-logits "$tmp/base.logits" >"$tmp/k4s"
"$LLMQ" perplexity "$tmp/Q4_0.gguf" --kld-base-logits "$tmp/base.logits" -f $TXT --ctx 128 --chunks 4 --json \
  2>/dev/null | sed 's/"seconds": [0-9.]*, "tokens_per_second": [0-9.]*//' >"$tmp/k4r"
ok '[ -s "$tmp/k4r" ] && [ "$(sed "s/\"seconds\": [0-9.]*, \"tokens_per_second\": [0-9.]*//" "$tmp/k4s")" = "$(cat "$tmp/k4r")" ]' \
  "--kld-base-logits: read back gives the same KLD"
"$LLMQ" perplexity "$tmp/Q4_0.gguf" --kld-base-logits "$tmp/base.logits" -f $TXT --ctx 128 --chunks 3 \
  2>"$tmp/err" >/dev/null; rc=$?
ok '[ $rc = 1 ] && grep -q "other tokens or settings" "$tmp/err"' "--kld-base-logits refuses other settings"
head -c 100000 "$tmp/base.logits" >"$tmp/short.logits"
"$LLMQ" perplexity "$tmp/Q4_0.gguf" --kld-base-logits "$tmp/short.logits" -f $TXT --ctx 128 --chunks 4 \
  2>"$tmp/err" >/dev/null; rc=$?
ok '[ $rc = 1 ] && grep -q "truncated" "$tmp/err"' "--kld-base-logits: a truncated file is an error"
printf 'not a logits file at all, just text' >"$tmp/bad.logits"
"$LLMQ" perplexity "$tmp/Q4_0.gguf" --kld-base-logits "$tmp/bad.logits" -f $TXT --ctx 128 --chunks 4 \
  2>"$tmp/err" >/dev/null; rc=$?
ok '[ $rc = 1 ] && grep -q "not an llmq base logits file" "$tmp/err"' "--kld-base-logits: a foreign file is an error"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
