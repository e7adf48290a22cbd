#!/usr/bin/env bash
# Static throughput estimate of the llmq-format GEMV kernels' hot loops
# by llvm-mca, for CPUs not at hand (AVX-512 ones on an AVX2 machine): the
# kernel files compiled with -DLQ_MCA mark the loop bodies (LQ_MCA_BEGIN /
# LQ_MCA_END in qdot_llmq.h), and llvm-mca simulates each type's region on
# the CPU model. Prints cycles per 32-value unit of the AVX2 loop (8 units
# per pass; FP8 per channel: 32 values) and of the AVX-512 loop (16), and
# their ratio. A model of the core alone: no caches or memory, so it says
# how much work a loop is, not what a memory-bound GEMV will reach.
#   scripts/mca_qdot_llmq.sh [CPU ...]     (default: icelake-server sapphirerapids)
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
gcc "${common[@]}" -mavx2 -mfma -mf16c src/kernels/qdot_llmq_avx2.c -o "$out/avx2.s"
gcc "${common[@]}" -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c \
    src/kernels/qdot_llmq_avx512.c -o "$out/avx512.s"
types=$(grep -o 'X([A-Z0-9_]\+' src/kernels/qdot_llmq.h | cut -c3-)

# cycles per pass of the marked region of function $2 in asm file $1
cycles() {
    awk -v f="$2" '$0 == f ":" {on = 1} on {print} on && $1 == ".size" && $2 == f "," {exit}' "$1" > "$out/fn.s"
    grep -q LLVM-MCA-BEGIN "$out/fn.s" || { echo "-"; return; }
    # "-" where the model lacks the instructions (AVX-512 on an AVX2-only CPU)
    { llvm-mca -mcpu="$3" -iterations=200 "$out/fn.s" 2>/dev/null || true; } |
        awk '/^Total Cycles:/ && !done {printf "%.2f", $3 / 200; done = 1} END {if (!done) printf "-"}'
}

printf "gcc %s, llvm-mca %s\n" "$(gcc -dumpfullversion)" "$(llvm-mca --version | awk '/LLVM version/ {print $NF}')"
for cpu in "${cpus[@]}"; do
    probe=$(echo nop | llvm-mca -mcpu="$cpu" 2>&1 || true)
    if [[ $probe == *"not a recognized processor"* ]]; then
        echo "llvm-mca does not know the CPU model $cpu" >&2
        exit 2
    fi
    printf "\n%s: cycles per 32-value unit\n%-13s %8s %8s %7s\n" "$cpu" type AVX2 AVX-512 ratio
    for t in $types; do
        a=$(cycles "$out/avx2.s" "lq_qdot_llmq_${t}_avx2" "$cpu")
        b=$(cycles "$out/avx512.s" "lq_qdot_llmq_${t}_avx512" "$cpu")
        case $t in F8_*) ua=1 ub=1 ;; *) ua=8 ub=16 ;; esac
        awk -v t="$t" -v a="$a" -v b="$b" -v ua="$ua" -v ub="$ub" 'BEGIN {
            if (a == "-") exit
            if (b == "-") printf "%-13s %8.2f %8s %7s\n", t, a / ua, "-", "-"
            else printf "%-13s %8.2f %8.2f %6.2fx\n", t, a / ua, b / ub, (a / ua) / (b / ub) }'
    done
done
