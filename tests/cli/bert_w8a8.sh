#!/usr/bin/env bash
# W8A8 BERT as a user runs it: llmq quantize --scheme writes all-MiniLM-L6-v2
# with INT8 linear layers (dynamic, static with calibration, SmoothQuant,
# LLM.int8 outliers); the files embed close to the float model, inspect shows
# the scheme, bench embed runs; bad requests fail with one line and leave no
# file behind.
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
How do I quantize a sentence-transformer model to 8 bits?
The river flooded the valley after three days of heavy rain.
TXT
# calibration: other sentences than the ones evaluated
cat >"$tmp/calib.txt" <<'TXT'
The museum opened a new wing dedicated to modern sculpture last spring.
She scored twice in the second half, and the team won the championship.

Engineers tested the bridge under loads far above what traffic would bring.
The novel follows three generations of a family of fishermen on a remote island.
Prices of wheat rose sharply after the drought destroyed much of the harvest.
He composed the symphony in 1824, when he was almost completely deaf.
The spacecraft entered orbit around Jupiter after a journey of five years.
Volunteers planted more than ten thousand trees along the river banks.
The court ruled that the law violated the freedom of the press.
Heavy snow closed the mountain pass for most of the winter.
TXT
"$LLMQ" convert $D "$tmp/f32.gguf" 2>/dev/null
"$LLMQ" embed "$tmp/f32.gguf" -f "$tmp/s.txt" -t 2 >"$tmp/e_f32"
q() { local n=$1; shift; "$LLMQ" quantize $D "$tmp/$n.gguf" "$@" -t 2 2>"$tmp/err"
  ok '[ -s "$tmp/$n.gguf" ]' "quantize $n: $(cat "$tmp/err")"; }
q dyn --scheme dynamic-int8
q st_minmax --scheme static-int8 --calib "$tmp/calib.txt"
q st_mse --scheme static-int8 --calib "$tmp/calib.txt" --observer mse
q st_smooth --scheme static-int8 --calib "$tmp/calib.txt" --smooth 0.5
q dyn_out --scheme dynamic-int8 --outlier-threshold 6
for n in dyn st_minmax st_mse st_smooth dyn_out; do
  "$LLMQ" embed "$tmp/$n.gguf" -f "$tmp/s.txt" -t 2 --stats >"$tmp/e_$n" 2>"$tmp/stats_$n"
  ok '[ $(wc -l <"$tmp/e_$n") = 4 ]' "embed $n.gguf: $(cat "$tmp/stats_$n")"
done
# the lowest cosine over the sentences, against the F32 file's embeddings
cosmin() { python3 - "$tmp/e_f32" "$1" <<'PY'
import sys, math
a = [list(map(float, l.split())) for l in open(sys.argv[1])]
b = [list(map(float, l.split())) for l in open(sys.argv[2])]
assert len(a) == len(b) == 4 and all(len(x) == 384 for x in a + b)
cos = lambda x, y: sum(p * q for p, q in zip(x, y)) / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))
print("%.6f" % min(cos(x, y) for x, y in zip(a, b)))
PY
}
for n in dyn st_minmax st_mse st_smooth dyn_out; do c=$(cosmin "$tmp/e_$n"); echo "min cosine to F32: $n $c"
  lim=0.95; case $n in dyn*) lim=0.99;; esac
  ok 'python3 -c "import sys; sys.exit(not $c > $lim)"' "$n cosine $c > $lim"; done
ok 'grep -q "routed to float ([0-9]* of [1-9][0-9]*)" "$tmp/stats_dyn_out"' "--stats reports the outlier columns: $(cat "$tmp/stats_dyn_out")"
"$LLMQ" embed "$tmp/f32.gguf" --stats "hello" 2>"$tmp/err" >/dev/null
ok 'grep -q "no INT8" "$tmp/err"' "--stats on a float file"
"$LLMQ" inspect "$tmp/st_smooth.gguf" >"$tmp/i"
ok 'grep -q -- "--scheme static-int8 --smooth 0.5" "$tmp/i"' "inspect shows the scheme"
ok 'grep -q "blk.0.attn_q.weight  *I8_CH" "$tmp/i" && grep -q "blk.5.ffn_down.weight  *I8_CH" "$tmp/i" && grep -q "token_embd.weight  *F32" "$tmp/i" && grep -q "blk.0.attn_q.bias  *F32" "$tmp/i"' \
  "linear weights I8_CH, embeddings and biases F32"
ok '[ "$(grep -c "\.act_scale  *F32" "$tmp/i")" = 36 ] && [ "$(grep -c "\.smooth_inv  *F32" "$tmp/i")" = 24 ]' \
  "36 static scales and 24 SmoothQuant factor vectors (q, k, v, ffn_up)"
"$LLMQ" bench embed "$tmp/dyn.gguf" --batch 1,2 --tokens 16 -t 1 --reps 1 >"$tmp/b" 2>&1
ok 'grep -q "^ *2  *1  *[0-9.]*  *[0-9.]*$" "$tmp/b" && grep -q "W8A8" "$tmp/b"' "bench embed: $(cat "$tmp/b")"
# bad requests: exit 2 (usage) or 1, one line, no file
"$LLMQ" quantize $D "$tmp/bad.gguf" --scheme static-int8 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ $(wc -l <"$tmp/err") = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "static-int8 without --calib: rc $rc, $(cat "$tmp/err")"
"$LLMQ" quantize $D "$tmp/bad.gguf" --scheme int4 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ $(wc -l <"$tmp/err") = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "unknown scheme: rc $rc, $(cat "$tmp/err")"
"$LLMQ" quantize $D "$tmp/bad.gguf" --scheme static-int8 --calib "$tmp/calib.txt" --observer median 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ $(wc -l <"$tmp/err") = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "unknown observer: rc $rc, $(cat "$tmp/err")"
printf '\n\n' >"$tmp/empty.txt"
"$LLMQ" quantize $D "$tmp/bad.gguf" --scheme static-int8 --calib "$tmp/empty.txt" 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ $(wc -l <"$tmp/err") = 1 ] && [ ! -e "$tmp/bad.gguf" ] && [ -z "$(ls "$tmp" | grep tmp)" ]' "calibration without sentences: rc $rc, $(cat "$tmp/err")"
"$LLMQ" quantize "$tmp/dyn.gguf" "$tmp/bad.gguf" --scheme dynamic-int8 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ ! -e "$tmp/bad.gguf" ]' "re-quantizing a W8A8 file is refused: rc $rc, $(cat "$tmp/err")"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
