#!/usr/bin/env bash
# llmq imatrix as a user runs it on stories260K: both llama.cpp formats are
# written (GGUF for .gguf, legacy .dat otherwise) with every weight's entry,
# the bytes do not depend on the thread count, both files hold the same
# means, and bad input gives one error line and no file.
set -u
LLMQ=$1
D=../shared/models/stories260K
TXT=../shared/data/wikitext-2/valid.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
ok() { if eval "$1"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
im() { "$LLMQ" imatrix $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT --ctx 128 --chunks 6 "$@"; }

im -o "$tmp/a.gguf" -t 2 >"$tmp/out" 2>"$tmp/err"; rc=$?
ok '[ $rc = 0 ] && [ ! -s "$tmp/err" ]' "imatrix .gguf: exit $rc, stderr: $(cat "$tmp/err")"
ok 'grep -q "^35 entries from 6 chunks of 128 tokens" "$tmp/out"' "summary line: $(cat "$tmp/out")"
ok '[ "$(head -c 4 "$tmp/a.gguf")" = GGUF ]' "GGUF magic"
ok 'grep -aq "imatrix.chunk_size" "$tmp/a.gguf" && grep -aq "blk.4.ffn_down.weight.in_sum2" "$tmp/a.gguf" && grep -aq "blk.0.attn_q.weight.counts" "$tmp/a.gguf"' \
  "GGUF keys and tensor names"
ok '! grep -aq "[^_]output\.weight" "$tmp/a.gguf"' "no output.weight without --process-output"
im -o "$tmp/b.gguf" -t 1 >/dev/null 2>&1
ok 'cmp -s "$tmp/a.gguf" "$tmp/b.gguf"' "1 and 2 threads give identical files"
im -o "$tmp/a.dat" -t 2 >/dev/null 2>&1; rc=$?
ok '[ $rc = 0 ] && [ "$(head -c 4 "$tmp/a.dat" | od -An -tu4 | tr -d " ")" = 35 ]' "legacy file: 35 entries first"
ok 'grep -aq "blk.0.attn_v.weight" "$tmp/a.dat" && tail -c ${#TXT} "$tmp/a.dat" | grep -q "^$TXT$"' "legacy names and the dataset trailer"
im -o "$tmp/p.gguf" --process-output >/dev/null 2>&1
ok '! grep -aq "[^_]output\.weight" "$tmp/p.gguf"' "tied output: --process-output adds nothing"

# the two formats hold the same means: in_sum2 / counts == values / ncall
ok 'python3 - "$tmp/a.gguf" "$tmp/a.dat" <<'"'PY'"'
import struct, sys
g = open(sys.argv[1], "rb").read(); d = open(sys.argv[2], "rb").read()
def legacy(b):
    n, = struct.unpack_from("<i", b, 0); o = 4; out = {}
    for _ in range(n):
        l, = struct.unpack_from("<i", b, o); name = b[o+4:o+4+l].decode(); o += 4 + l
        ncall, nval = struct.unpack_from("<ii", b, o); o += 8
        out[name] = [v / ncall for v in struct.unpack_from("<%df" % nval, b, o)]; o += 4 * nval
    return out
def gguf(b):
    o = 8; nt, nkv = struct.unpack_from("<QQ", b, o); o += 16
    def s(o):
        n, = struct.unpack_from("<Q", b, o); return b[o+8:o+8+n].decode(), o + 8 + n
    sizes = {4: 4, 5: 4, 6: 4, 10: 8}
    for _ in range(nkv):
        k, o = s(o); t, = struct.unpack_from("<I", b, o); o += 4
        if t == 8: _, o = s(o)
        elif t == 9:
            at, an = struct.unpack_from("<IQ", b, o); o += 12
            for _ in range(an): _, o = s(o)
        else: o += sizes[t]
    ts = []
    for _ in range(nt):
        name, o = s(o); nd, = struct.unpack_from("<I", b, o); o += 4
        ne = struct.unpack_from("<%dQ" % nd, b, o); o += 8 * nd
        _, off = struct.unpack_from("<IQ", b, o); o += 12
        ts.append((name, ne[0] * (ne[1] if nd > 1 else 1), off))
    base = (o + 31) // 32 * 32
    t = {name: struct.unpack_from("<%df" % n, b, base + off) for name, n, off in ts}
    return {k[:-8]: [v / t[k[:-8] + ".counts"][0] for v in t[k]] for k in t if k.endswith(".in_sum2")}
a, b = gguf(g), legacy(d)
assert sorted(a) == sorted(b) and len(a) == 35, (len(a), len(b))
for k in a:
    assert all(abs(x - y) <= 1e-6 * max(abs(x), 1e-30) for x, y in zip(a[k], b[k])), k
    assert all(x > 0 for x in a[k]), k
PY' "GGUF and legacy files hold the same means"

# bad input: one line on stderr, exit 2 for the command line, 1 for the work; no file left
expect() {
  local want=$1 what=$2; shift 2
  "$LLMQ" imatrix "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  ok '[ $rc = '"$want"' ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^llmq imatrix: " "$tmp/err"' "$what: exit $rc, $(cat "$tmp/err")"
}
expect 2 "no -o" $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT
expect 2 "no -f" $D/stories260K.bin --tokenizer $D/tok512.bin -o "$tmp/x.dat"
expect 2 "no model" -f $TXT -o "$tmp/x.dat"
expect 2 "unknown option" $D/stories260K.bin --bogus -f $TXT -o "$tmp/x.dat"
expect 2 "context too small" $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT -o "$tmp/x.dat" --ctx 2
expect 2 "bad chunk count" $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT -o "$tmp/x.dat" --chunks 0
expect 1 "missing text" $D/stories260K.bin --tokenizer $D/tok512.bin -f "$tmp/none.txt" -o "$tmp/x.dat"
printf 'Once upon a time.' >"$tmp/short.txt"
expect 1 "text too short" $D/stories260K.bin --tokenizer $D/tok512.bin -f "$tmp/short.txt" -o "$tmp/x.dat"
ok 'grep -q "need at least 2 x 512" "$tmp/err"' "short text: says how many tokens it needs"
expect 1 "unwritable output" $D/stories260K.bin --tokenizer $D/tok512.bin -f $TXT --ctx 64 --chunks 2 -o "$tmp/no/dir/x.gguf"
ok '[ ! -e "$tmp/x.dat" ] && [ -z "$(ls "$tmp" | grep tmp)" ]' "no output or temporary file after errors"
M=models/all-MiniLM-L6-v2
if [ -d "$M" ]; then
  expect 1 "encoder model" "$M" -f $TXT -o "$tmp/x.dat" --ctx 16 --chunks 1
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
