#!/usr/bin/env bash
# Static throughput estimate of the GEMV kernels' hot loops by llvm-mca,
# for CPUs not at hand (AVX-512 ones on an AVX2 machine): the kernel files
# compiled with -DLQ_MCA mark the loop bodies (LQ_MCA_BEGIN / LQ_MCA_END in
# kernels/qdot.h), and llvm-mca simulates each type's region on the CPU
# model. Prints cycles per 32 weights of the AVX2 and the AVX-512 loop and
# their ratio. The regions: llmq formats and GGML 32-blocks a loop pass
# (8 / 16 units; FP8 per channel 32 values), K-quants one
# super-block (the per-batch reduction and float terms left out). A model
# of the core alone: no caches or memory, so it says how much work a loop
# is, not what a memory-bound GEMV will reach.
#   scripts/mca_qdot.sh [CPU ...]     (default: icelake-server sapphirerapids)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v llvm-mca >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq llvm >/dev/null
fi
cpus=("$@")
[ ${#cpus[@]} -gt 0 ] || cpus=(icelake-server sapphirerapids)
out=build/mca
mkdir -p "$out"
common=(-std=gnu11 -O3 -ffp-contract=off -DLQ_MCA -Isrc -Iinclude -S)
for fam in llmq legacy kquants; do
    gcc "${common[@]}" -mavx2 -mfma -mf16c "src/kernels/qdot_${fam}_avx2.c" -o "$out/${fam}_avx2.s"
    # the AVX-512 table's kernels: the AVX2 files built for AVX-512
    # (*_ymm_avx512.c) and the zmm ones that stayed (qdot_legacy_avx512.c)
    : > "$out/${fam}_avx512.s"
    for f in "src/kernels/qdot_${fam}_avx512.c" "src/kernels/qdot_${fam}_ymm_avx512.c"; do
        [ -f "$f" ] || continue
        gcc "${common[@]}" -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c \
            -Isrc/kernels "$f" -o - >> "$out/${fam}_avx512.s"
    done
done

# "family function-stem weights-per-AVX2-region weights-per-AVX-512-region"
kernels() {
    for t in $(grep -o 'X([A-Z0-9_]\+' src/kernels/qdot_llmq.h | cut -c3-); do
        case $t in F8_*) echo "llmq llmq_$t 32 32" ;; *) echo "llmq llmq_$t 256 256" ;; esac
    done
    for t in q8_0 q5_1 q5_0 q4_1 q4_0 iq4_nl mxfp4; do echo "legacy $t 512 512"; done
    for t in q6_k q5_k q4_k q3_k q2_k; do echo "kquants $t 256 256"; done
}

# cycles per pass of the marked region of function $2 in asm file $1 (the
# fastest where it has several: FP8's fp16 fallback beside its main loop)
cycles() {
    awk -v f="$2" '$0 == f ":" {on = 1} on {print} on && $1 == ".size" && $2 == f "," {exit}' "$1" > "$out/fn.s"
    grep -q LLVM-MCA-BEGIN "$out/fn.s" || { echo "-"; return; }
    # "-" where the model lacks the instructions (AVX-512 on an AVX2-only CPU)
    { llvm-mca -mcpu="$3" -iterations=200 "$out/fn.s" 2>/dev/null || true; } |
        awk '/^Total Cycles:/ && (!n++ || $3 < best) {best = $3} END {if (n) printf "%.2f", best / 200; else printf "-"}'
}

printf "gcc %s, llvm-mca %s\n" "$(gcc -dumpfullversion)" "$(llvm-mca --version | awk '/LLVM version/ {print $NF}')"
for cpu in "${cpus[@]}"; do
    probe=$(echo nop | llvm-mca -mcpu="$cpu" 2>&1 || true)
    if [[ $probe == *"not a recognized processor"* ]]; then
        echo "llvm-mca does not know the CPU model $cpu" >&2
        exit 2
    fi
    printf "\n%s: cycles per 32 weights\n%-13s %8s %8s %7s\n" "$cpu" type AVX2 AVX-512 ratio
    kernels | while read -r fam stem wa wb; do
        a=$(cycles "$out/${fam}_avx2.s" "lq_qdot_${stem}_avx2" "$cpu")
        b=$(cycles "$out/${fam}_avx512.s" "lq_qdot_${stem}_avx512" "$cpu")
        name=${stem#llmq_}
        awk -v t="${name^^}" -v a="$a" -v b="$b" -v ua="$((wa / 32))" -v ub="$((wb / 32))" 'BEGIN {
            if (a == "-") exit
            if (b == "-") printf "%-13s %8.2f %8s %7s\n", t, a / ua, "-", "-"
            else printf "%-13s %8.2f %8.2f %6.2fx\n", t, a / ua, b / ub, (a / ua) / (b / ub) }'
    done
done
