#!/usr/bin/env bash
# BERT as GGUF, as a user runs it: llmq convert writes all-MiniLM-L6-v2 in
# llama.cpp's "bert" layout and the file embeds exactly as the Hugging Face
# directory does; llmq quantize Q8_0 / Q4_0 stays close; inspect and requantizing
# a GGUF source work; a mix applies its base type.
set -u
LLMQ=$1
D=models/all-MiniLM-L6-v2
if [ ! -f $D/model.safetensors ]; then echo "SKIP: $D is missing"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { if eval "$1"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
cat >"$tmp/s.txt" <<'TXT'
The quick brown fox jumps over the lazy dog.
A naïve café owner in Zürich sells crème brûlée!
How do I quantize a sentence-transformer model to 4 bits?
東京は日本の首都です。
TXT
"$LLMQ" embed $D -f "$tmp/s.txt" -t 2 >"$tmp/hf" 2>"$tmp/err"
ok '[ $(wc -l <"$tmp/hf") = 4 ]' "embed the HF directory: $(cat "$tmp/err")"
"$LLMQ" convert $D "$tmp/f32.gguf" 2>"$tmp/err"
ok '[ -s "$tmp/f32.gguf" ]' "convert to F32 GGUF: $(cat "$tmp/err")"
for t in Q8_0 Q4_0; do
  "$LLMQ" quantize $D "$tmp/$t.gguf" --type $t -t 2 2>"$tmp/err"
  ok '[ -s "$tmp/$t.gguf" ]' "quantize $t: $(cat "$tmp/err")"
done
for f in f32 Q8_0 Q4_0; do "$LLMQ" embed "$tmp/$f.gguf" -f "$tmp/s.txt" -t 2 >"$tmp/e_$f" 2>"$tmp/err"
  ok '[ $(wc -l <"$tmp/e_$f") = 4 ]' "embed $f.gguf: $(cat "$tmp/err")"; done
ls -l "$tmp"/*.gguf | awk '{print $5, $NF}'
# the lowest cosine over the sentences, against the HF directory's embeddings
cosmin() { python3 - "$tmp/hf" "$1" <<'PY'
import sys, math
a = [list(map(float, l.split())) for l in open(sys.argv[1])]
b = [list(map(float, l.split())) for l in open(sys.argv[2])]
assert len(a) == len(b) == 4 and all(len(x) == 384 for x in a + b)
cos = lambda x, y: sum(p * q for p, q in zip(x, y)) / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))
print("%.9f" % min(cos(x, y) for x, y in zip(a, b)))
PY
}
c32=$(cosmin "$tmp/e_f32"); c8=$(cosmin "$tmp/e_Q8_0"); c4=$(cosmin "$tmp/e_Q4_0")
echo "min cosine to the HF embeddings: F32 $c32, Q8_0 $c8, Q4_0 $c4"
ok 'python3 -c "import sys; sys.exit(not $c32 > 0.999999)"' "F32 GGUF embeds as the HF directory ($c32)"
ok 'python3 -c "import sys; sys.exit(not $c8 > 0.999)"' "Q8_0 cosine $c8 > 0.999"
ok 'python3 -c "import sys; sys.exit(not ($c4 > 0.95 and $c4 < $c8))"' "Q4_0 cosine $c4 > 0.95 and below Q8_0"
"$LLMQ" inspect "$tmp/Q4_0.gguf" >"$tmp/i"
ok 'grep -q "^architecture: bert" "$tmp/i"' "inspect shows architecture bert"
ok 'grep -q "token_embd.weight  *Q4_0" "$tmp/i" && grep -q "blk.5.ffn_down.weight  *Q4_0" "$tmp/i" && grep -q "position_embd.weight  *F32" "$tmp/i" && grep -q "token_types.weight  *F32" "$tmp/i" && grep -q "blk.0.attn_q.bias  *F32" "$tmp/i" && grep -q "blk.0.layer_output_norm.weight  *F32" "$tmp/i"' \
  "Q4_0: matrices quantized; position/token-type embeddings, biases and norms F32"
ok '[ "$(grep -c "^  blk\." "$tmp/i")" = 96 ] && grep -q "^tensors (101)" "$tmp/i"' "101 tensors in llama.cpp's bert names"
# a GGUF source: the F32 file converts to the same bytes, and quantizes to the same bytes as the HF directory
"$LLMQ" convert "$tmp/f32.gguf" "$tmp/f32b.gguf" 2>/dev/null
ok 'cmp -s "$tmp/f32.gguf" "$tmp/f32b.gguf"' "convert of the F32 GGUF reproduces it byte for byte"
"$LLMQ" quantize "$tmp/f32.gguf" "$tmp/Q8b.gguf" --type Q8_0 2>/dev/null
ok 'cmp -s "$tmp/Q8_0.gguf" "$tmp/Q8b.gguf"' "quantize from the F32 GGUF = quantize from the HF directory"
# a mix applies its base type (Q4_K_M -> Q4_K; 384-wide rows fall back to Q5_0 as in llama-quantize)
"$LLMQ" quantize $D "$tmp/m.gguf" --type Q4_K_M 2>"$tmp/err"
"$LLMQ" inspect "$tmp/m.gguf" >"$tmp/mi" 2>>"$tmp/err"
ok 'grep -q "blk.0.attn_v.weight  *Q5_0" "$tmp/mi" && grep -q "blk.0.ffn_down.weight  *Q4_K" "$tmp/mi"' "Q4_K_M mix on BERT: base type, row fallbacks: $(cat "$tmp/err")"
"$LLMQ" run "$tmp/Q8_0.gguf" -p "hi" -n 2 >/dev/null 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && grep -q "encoder" "$tmp/err"' "run on a bert GGUF is refused: $(cat "$tmp/err")"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
