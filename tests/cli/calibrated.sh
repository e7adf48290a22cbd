#!/usr/bin/env bash
# Calibrated quantization as a user runs it on stories260K: gptq, awq and
# imatrix calibrate block by block on text and give the same bytes at 1 and 2
# threads; the files load and generate; --imatrix reads `llmq imatrix`'s file;
# gptq without calibration text becomes hqq; --json reports per tensor; bad
# input gives one error line and no file.
set -u
LLMQ=$1
D=../shared/models/stories260K
TXT=../shared/data/wikitext-2/valid.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { if eval "$1"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
q() { "$LLMQ" quantize $D/stories260K.bin "$@" --tokenizer $D/tok512.bin; }
CAL="--calib $TXT --calib-tokens 1024 --calib-ctx 128"

for m in gptq awq imatrix; do
  q "$tmp/$m-1.gguf" --type Q4_0 --method $m $CAL -t 1 2>"$tmp/err"; rc=$?
  ok '[ $rc = 0 ] && [ ! -s "$tmp/err" ]' "$m: exit $rc, stderr: $(cat "$tmp/err")"
  q "$tmp/$m-2.gguf" --type Q4_0 --method $m $CAL -t 2 2>/dev/null
  ok 'cmp -s "$tmp/$m-1.gguf" "$tmp/$m-2.gguf"' "$m: 1 and 2 threads give identical files"
  text=$("$LLMQ" run "$tmp/$m-2.gguf" -p "" -n 12 --temp 0 2>/dev/null)
  ok 'case "$text" in "Once upon a time"*) true;; *) false;; esac' "$m generates: $text"
  "$LLMQ" inspect "$tmp/$m-2.gguf" >"$tmp/i"
  ok 'grep -qE "^quantized: +method '$m', --type Q4_0 --method '$m' --calib-tokens 1024 --calib-ctx 128" "$tmp/i"' \
    "$m: inspect shows the method and calibration: $(grep quantized: "$tmp/i")"
done
q "$tmp/rtn.gguf" --type Q4_0 2>/dev/null
ok '! cmp -s "$tmp/rtn.gguf" "$tmp/gptq-1.gguf" && ! cmp -s "$tmp/rtn.gguf" "$tmp/awq-1.gguf"' "calibrated files differ from rtn"
# gptq on the float model's inputs (one pass per block, not in order): its own bytes, at any thread count
q "$tmp/gf-1.gguf" --type Q4_0 --method gptq $CAL --calib-float-inputs -t 1 2>"$tmp/err"; rc=$?
q "$tmp/gf-2.gguf" --type Q4_0 --method gptq $CAL --calib-float-inputs -t 2 2>/dev/null
ok '[ $rc = 0 ] && cmp -s "$tmp/gf-1.gguf" "$tmp/gf-2.gguf" && ! cmp -s "$tmp/gf-1.gguf" "$tmp/gptq-1.gguf"' \
  "gptq --calib-float-inputs: exit $rc, same at 1 and 2 threads, differs from in-order gptq: $(cat "$tmp/err")"

# an importance matrix from llmq imatrix, read back by quantize
"$LLMQ" imatrix $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT --ctx 128 --chunks 8 -o "$tmp/im.dat" >/dev/null 2>&1
q "$tmp/im.gguf" --type Q4_0 --method imatrix --imatrix "$tmp/im.dat" 2>"$tmp/err"; rc=$?
ok '[ $rc = 0 ] && ! cmp -s "$tmp/rtn.gguf" "$tmp/im.gguf"' "--imatrix FILE: exit $rc, differs from rtn: $(cat "$tmp/err")"
q "$tmp/im2.gguf" --type Q4_0 --imatrix "$tmp/im.dat" 2>/dev/null
ok 'cmp -s <(tail -c 100000 "$tmp/im.gguf") <(tail -c 100000 "$tmp/im2.gguf")' "rtn with --imatrix weights as --method imatrix does"

# without calibration text, gptq is hqq (calibration-free)
q "$tmp/h.gguf" --type I4_G32A --method gptq --json >"$tmp/j" 2>/dev/null; rc=$?
ok '[ $rc = 0 ] && python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"method\"] == \"hqq\" and len(j[\"tensors\"]) == 36 and all(t[\"rel_error\"] >= 0 for t in j[\"tensors\"]), j" "$tmp/j"' \
  "gptq without --calib runs hqq; --json lists every matrix: $(head -c 300 "$tmp/j")"

# bad input: one line, non-zero exit, no file
q "$tmp/b1.gguf" --type Q4_0 --method imatrix 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/b1.gguf" ]' "--method imatrix without an imatrix: usage error"
q "$tmp/b2.gguf" --type Q4_0 --method gptq --calib "$tmp/missing.txt" 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/b2.gguf" ]' "missing calibration file: $(cat "$tmp/err")"
printf 'tiny' >"$tmp/short.txt"
q "$tmp/b3.gguf" --type Q4_0 --method gptq --calib "$tmp/short.txt" 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && grep -q "too short" "$tmp/err" && [ ! -e "$tmp/b3.gguf" ]' "calibration text too short: $(cat "$tmp/err")"
printf 'not an imatrix file at all' >"$tmp/bad.dat"
q "$tmp/b4.gguf" --type Q4_0 --imatrix "$tmp/bad.dat" 2>"$tmp/err"; rc=$?
ok '[ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/b4.gguf" ]' "corrupt imatrix file: $(cat "$tmp/err")"
q "$tmp/b5.gguf" --type Q4_0 --method gptq $CAL --calib-ctx 100000 2>"$tmp/err"; rc=$?
ok '[ $rc = 2 ] && [ ! -e "$tmp/b5.gguf" ]' "--calib-ctx out of range: $(cat "$tmp/err")"
ok '[ -z "$(ls "$tmp" | grep tmp)" ]' "no temporary files left"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
