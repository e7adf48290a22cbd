#!/usr/bin/env bash
# Bad input at the command line: one clear line on stderr, a non-zero exit
# code below 128 (no crash), nothing on stdout.
set -u
LLMQ=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
D=../shared/models/stories260K
# expect CODE DESCRIPTION -- ARGS...
expect() {
  local want=$1 what=$2; shift 3
  "$LLMQ" "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ $rc -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q '^llmq' "$tmp/err"; then
    pass=$((pass+1))
  else
    fail=$((fail+1)); echo "FAIL: $what: exit $rc (want $want), stderr:"; cat "$tmp/err"
  fi
}
printf 'GGUF\x03\x00\x00\x00' >"$tmp/trunc.gguf"
head -c 1000 $D/stories260K.bin >"$tmp/trunc.bin"
printf 'not a model at all, just some text that is long enough to look like a header' >"$tmp/junk.bin"
mkdir "$tmp/emptydir"
# model-level faults in an otherwise valid GGUF (stories260K converted here)
"$LLMQ" convert $D/stories260K.bin "$tmp/ok.gguf" --tokenizer $D/tok512.bin 2>/dev/null
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
b = open(d + "/ok.gguf", "rb").read()
key = b"general.architecture"
i = b.index(key) + len(key) + 4 + 8          # past the key, its type and the string length
open(d + "/arch.gguf", "wb").write(b[:i] + b"gpt9!" + b[i + 5:])
k = b.index(b"blk.0.attn_q.weight")           # its tensor info: name, n_dims, 2 dims, type
t = k + len(b"blk.0.attn_q.weight") + 4 + 16
open(d + "/type.gguf", "wb").write(b[:t] + (50).to_bytes(4, "little") + b[t + 4:])
open(d + "/half.gguf", "wb").write(b[: len(b) // 2])
PY
expect 2 "no command" --
expect 2 "unknown command" -- frobnicate
expect 2 "unknown option" -- run $D/stories260K.bin --bogus
expect 2 "missing value" -- run $D/stories260K.bin -n
expect 2 "bad number" -- run $D/stories260K.bin -n abc
expect 2 "no model" -- inspect
expect 1 "missing file" -- inspect "$tmp/nope.gguf"
expect 1 "missing file (run)" -- run "$tmp/nope.gguf" -p hi
expect 1 "truncated gguf" -- inspect "$tmp/trunc.gguf"
expect 1 "truncated gguf (run)" -- run "$tmp/trunc.gguf" -p hi
expect 1 "truncated llama2.c" -- inspect "$tmp/trunc.bin"
expect 1 "truncated llama2.c (run)" -- run "$tmp/trunc.bin" --tokenizer $D/tok512.bin -p hi
expect 1 "junk file" -- inspect "$tmp/junk.bin"
for f in arch type half; do
  expect 1 "bad GGUF ($f), inspect" -- inspect "$tmp/$f.gguf"
  expect 1 "bad GGUF ($f), run" -- run "$tmp/$f.gguf" -p hi
done
grep -q "unsupported architecture 'gpt9!'" <("$LLMQ" inspect "$tmp/arch.gguf" 2>&1) && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: arch message"; }
grep -q "unknown type 50" <("$LLMQ" run "$tmp/type.gguf" -p hi 2>&1) && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: type message"; }
expect 1 "convert into a missing directory" -- convert $D/stories260K.bin "$tmp/nodir/x.gguf" --tokenizer $D/tok512.bin
[ ! -e "$tmp/nodir" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: partial output"; }
expect 1 "directory without config" -- inspect "$tmp/emptydir"
expect 1 "missing tokenizer file" -- run $D/stories260K.bin --tokenizer "$tmp/none.bin" -p hi
expect 1 "missing text" -- perplexity $D/stories260K.bin --tokenizer $D/tok512.bin -f "$tmp/none.txt"
expect 1 "embed with a decoder" -- embed $D/stories260K.bin hello
echo "$pass passed, $fail failed"
[ $fail = 0 ]
