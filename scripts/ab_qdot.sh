#!/usr/bin/env bash
# A/B of the AVX2 GEMV kernels (AB_ISA=avx512: the AVX-512 ones): the kernels of git revision BASE ("A",
# built from that revision's sources with their symbols renamed) against
# the current build's ("B"), called alternately on the same matrix in one
# process, so the machine's drift hits both alike. Prints per type the
# medians of both, the median of the per-call ratios B/A and whether each
# matches the reference's bits.
#   scripts/ab_qdot.sh BASE TYPES [ROWS [REPS [THREADS [COLS]]]]
#   e.g. scripts/ab_qdot.sh HEAD~1 Q4_0,Q4_K 16384 15 2 4096
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/ab_qdot.sh BASE TYPES [ROWS [REPS [THREADS [COLS]]]]" >&2; exit 2; }
base=$1; shift
make -s >/dev/null
out=build/ab_qdot
rm -rf "$out/base" && mkdir -p "$out/base"
# A builds against BASE's own headers
git archive "$base" src include | tar -x -C "$out/base"
# the library's flags for kernel files (CMakeLists.txt); AB_A_CFLAGS adds to A's (A/B of a flag)
isa=${AB_ISA:-avx2}
case $isa in
avx2) isa_flags=(-mavx2 -mfma -mf16c) ;;
avx512) isa_flags=(-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mavx2 -mfma -mf16c) ;;
*) echo "ab_qdot.sh: AB_ISA is avx2 or avx512" >&2; exit 2 ;;
esac
export AB_ISA=$isa
flags=(-std=gnu11 -fopenmp -O3 -falign-functions=64 -falign-loops=64 "${isa_flags[@]}" -ffp-contract=off ${AB_A_CFLAGS:-} -I"$out/base/src" -I"$out/base/include")
# the A kernels' names
{
    for k in q4_0 q4_1 q5_0 q5_1 q8_0 iq4_nl mxfp4 q2_k q3_k q4_k q5_k q6_k f16 bf16; do
        echo "#define lq_qdot_${k}_${isa} A_${k}"
    done
    for k in $(grep -o 'X([A-Z0-9_]\+' "$out/base/src/kernels/qdot_llmq.h" | cut -c3-); do
        echo "#define lq_qdot_llmq_${k}_${isa} A_llmq_${k}"
    done
    echo "#define lq_qdot_legacy_lookup A_legacy_lookup"
    echo "#define lq_qdot_kquants_lookup A_kquants_lookup"
} > "$out/rename_a.h"
objs=()
# (planar.c: A packs its planar rows itself, its layouts may differ from B's)
# (AVX-512: the AVX2 files too, for their recodes and dequantizers, and the
# *_ymm_avx512 wrappers that build AVX2 kernels into the AVX-512 table)
files="qdot_legacy_avx2 qdot_kquants_avx2 qdot_float_avx2 qdot_llmq_avx2"
[ "$isa" = avx512 ] && files="$files qdot_legacy_avx512 qdot_kquants_avx512 qdot_float_avx512 qdot_llmq_avx512 qdot_legacy_ymm_avx512 qdot_kquants_ymm_avx512 qdot_llmq_ymm_avx512"
for f in $files planar; do
    [ -f "$out/base/src/kernels/$f.c" ] || continue
    gcc "${flags[@]}" -include "$out/rename_a.h" -c "$out/base/src/kernels/$f.c" -o "$out/a_$f.o"
    # any other global A defines (helpers such as the recoders) gets A_ too
    nm --defined-only -g "$out/a_$f.o" | awk '$3 !~ /^A_/ {print $3, "A_" $3}' > "$out/syms_$f.txt"
    [ -s "$out/syms_$f.txt" ] && objcopy --redefine-syms="$out/syms_$f.txt" "$out/a_$f.o"
    objs+=("$out/a_$f.o")
done
gcc -O2 -fopenmp -Isrc -Iinclude bench/ab_qdot.c "${objs[@]}" build/lib/libllmq.a -o "$out/ab_qdot" \
    -lopenblas -llapacke -lcjson -lpcre2-8 -lm
# the types whose AVX2 kernels in A's revision read planar rows (their infos name a plan)
AB_A_PLANAR=$(for f in qdot_legacy_ref qdot_kquants_ref; do git show "$base:src/kernels/ref/$f.c" 2>/dev/null || true; done |
    { grep -o 'INFOS([a-z0-9_]*, [^)]*&plan' || true; } | sed 's/.*INFOS(\([a-z0-9_]*\),.*/\1/' | tr a-z A-Z | paste -sd, -)
# llmq's group formats whose AVX2 kernels read planar rows in A's revision
# (plan_llmq: INT3 (and INT2 where LQ_LLMQ_AVX2_PLANAR says bits <= 3),
# groups of 64 and 128; plan_i3: INT3)
llmq_ref=$(git show "$base:src/kernels/ref/qdot_llmq_ref.c" 2>/dev/null || true)
if grep -q plan_llmq <<<"$llmq_ref"; then
    small='^I3_'
    grep -q 'AVX2_PLANAR(bits, group, asym) ((bits) <= 3' "$out/base/src/kernels/qdot_llmq.h" && small='^I[23]_'
    AB_A_PLANAR="$AB_A_PLANAR,$(grep -o 'X([A-Z0-9_]\+' "$out/base/src/kernels/qdot_llmq.h" | cut -c3- |
        grep -E "$small|_G64|_G128|^NF4\$" | paste -sd, -)"
elif grep -q plan_i3 <<<"$llmq_ref"; then
    AB_A_PLANAR="$AB_A_PLANAR,I3_G32S,I3_G32A,I3_G64S,I3_G64A,I3_G128S,I3_G128A"
fi
# AVX-512: A's AVX-512 kernels read planar rows where they are AVX2 kernels
# built for AVX-512 (its *_ymm_avx512 wrappers), GGUF rows elsewhere
if [ "$isa" = avx512 ]; then
    ymm=$( (cat "$out"/base/src/kernels/*_ymm_avx512.c 2>/dev/null || true) | { grep -o 'YMM_TYPES [A-Z0-9_,]*' || true; } | cut -d' ' -f2 | paste -sd, -)
    # (LLMQ: every format of A's qdot_llmq.h)
    llmq_names=$(grep -o 'X([A-Z0-9_]\+' "$out/base/src/kernels/qdot_llmq.h" | cut -c3- | paste -sd, -)
    ymm=${ymm//LLMQ/$llmq_names}
    AB_A_PLANAR=$(tr , '\n' <<<"$AB_A_PLANAR" | grep -xF -f <(tr , '\n' <<<"${ymm:-NONE}") | paste -sd, - || true)
fi
export AB_A_PLANAR
# A's lq_planar names its unit-code layouts (2: INT2 quads, 3: INT3), or has int3_pairs (1: INT3)
if grep -q unit_codes "$out/base/src/kernels/planar.h" 2>/dev/null; then export AB_A_UNIT_CODES=1; fi
"$out/ab_qdot" "$@"
