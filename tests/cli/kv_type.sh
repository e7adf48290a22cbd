#!/usr/bin/env bash
# --kv-type f32|f16|q8 on stories260K: greedy text with an F16 cache equals
# F32's, a Q8 cache's perplexity stays within a few % of F32's (prompt path
# and one-token generation path), --kld-base keeps its own F32 cache, and a
# bad type is a usage error.
set -u
LLMQ=$1
D=../shared/models/stories260K
M="$D/stories260K.bin --tokenizer $D/tok512.bin"
TXT=../shared/data/wikitext-2/valid.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
check() { if [ "$1" = ok ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# greedy text: a multi-token prompt (the prompt path reads the cache back) then 12 generated tokens
for kv in f32 f16 q8; do
  "$LLMQ" run $M -p "Once upon a time, Lily" -n 12 --temp 0 --kv-type $kv >"$tmp/run_$kv" 2>"$tmp/err_$kv" \
    && check ok "" || check no "run --kv-type $kv failed: $(cat "$tmp/err_$kv")"
  echo "$kv: $(cat "$tmp/run_$kv")"
done
cmp -s "$tmp/run_f32" "$tmp/run_f16" && check ok "" || check no "f16 greedy text differs from f32's"
[ "$(wc -w <"$tmp/run_q8")" -gt 6 ] && check ok "" || check no "q8 generated too little text"
for isa in ref avx512; do
  LLMQ_ISA=$isa "$LLMQ" run $M -p "Once upon a time, Lily" -n 12 --temp 0 --kv-type f16 2>/dev/null >"$tmp/isa"
  cmp -s "$tmp/run_f32" "$tmp/isa" && check ok "" || check no "LLMQ_ISA=$isa f16 text differs from f32's"
done

# perplexity: batch 128 (prompt path) and batch 1 (the generation kernels)
for kv in f32 f16 q8; do
  for b in 128 1; do
    "$LLMQ" perplexity $M -f $TXT --ctx 128 --chunks 4 -b $b --json --kv-type $kv >"$tmp/p_${kv}_$b" 2>"$tmp/e" \
      && check ok "" || check no "perplexity --kv-type $kv -b $b failed: $(cat "$tmp/e")"
    echo "ppl $kv -b $b: $(json "$tmp/p_${kv}_$b" ppl)"
  done
done
near() { python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a/b-1)<=t else 1)" "$1" "$2" "$3"; }
f32=$(json "$tmp/p_f32_128" ppl)
for run in f16_128:0.002 f16_1:0.002 q8_128:0.03 q8_1:0.03 f32_1:0.0001; do
  p=$(json "$tmp/p_${run%%:*}" ppl)
  near "$p" "$f32" "${run##*:}" && check ok "" || check no "ppl ${run%%:*} $p vs f32 $f32 (limit ${run##*:})"
done

# --kld-base: the base keeps an F32 cache, so its perplexity is f32's
"$LLMQ" perplexity $M -f $TXT --ctx 128 --chunks 4 --json --kv-type q8 --kld-base $D/stories260K.bin \
  --base-tokenizer $D/tok512.bin >"$tmp/k" 2>"$tmp/e" && check ok "" || check no "kld run failed: $(cat "$tmp/e")"
[ "$(json "$tmp/k" base_ppl)" = "$f32" ] && check ok "" || check no "base ppl $(json "$tmp/k" base_ppl) is not f32's $f32"
[ "$(json "$tmp/k" ppl)" = "$(json "$tmp/p_q8_128" ppl)" ] && check ok "" || check no "q8 ppl changed with --kld-base"

# bad values: usage error, one line
for cmd in "run $M -p x --kv-type q4" "perplexity $M -f $TXT --kv-type F16" "bench --no-formats --model $D/stories260K.bin --kv-type bf16" "run $M -p x --kv-type"; do
  "$LLMQ" $cmd >/dev/null 2>"$tmp/e"; rc=$?
  [ $rc = 2 ] && [ "$(wc -l <"$tmp/e")" = 1 ] && check ok "" || check no "'$cmd': exit $rc, $(cat "$tmp/e")"
done
grep -q "kv-type" <("$LLMQ" run --help) && check ok "" || check no "run --help does not mention --kv-type"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
