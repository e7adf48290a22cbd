#!/usr/bin/env bash
# llmq's GEMV beside llama.cpp's (ggml), alternated call by call in one
# process (bench/gemv_vs_ggml.c): per rep a 1 GiB read-sum, then one GEMV of
# each engine from DRAM, the order swapped every rep; medians of GB/s, of
# the shares of each rep's read bandwidth and of the per-rep ratios.
# Replaces compare_gemv_llamacpp.sh (in git history up to bcb3e75; the
# earlier figures in docs/BENCH-gemv.md come from it), whose back-to-back
# rounds ranged 0.3x-7.8x on this busy host: these per-rep ratios stay
# within a few tenths.
#   scripts/gemv_vs_ggml.sh [TYPES [ROWS [COLS [REPS [THREADS]]]]]
#   defaults: the 14 types both engines run, 16384 4096 15 2
# Sets up .peers (llama-cpp-python built for this CPU) like the other
# comparison scripts, builds llmq, then the harness against ggml's headers
# and libraries from that package.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/peers_env.sh
types=${1:-F16,BF16,Q8_0,Q6_K,Q5_K,Q5_1,Q5_0,Q4_K,Q4_1,Q4_0,IQ4_NL,MXFP4,Q3_K,Q2_K}
make -s >/dev/null
pkg=$("$PEERS_PY" -c 'import llama_cpp, os; print(os.path.dirname(llama_cpp.__file__))')
inc=$(dirname "$pkg")/include lib=$pkg/lib
[ -f "$inc/ggml-cpu.h" ] && [ -e "$lib/libggml-cpu.so" ] || { echo "gemv_vs_ggml.sh: no ggml headers or libraries under $pkg" >&2; exit 1; }
gcc -O2 -fopenmp -Isrc -Iinclude -I"$inc" bench/gemv_vs_ggml.c build/lib/libllmq.a -L"$lib" -lggml-base -lggml-cpu \
    -Wl,-rpath,"$lib" -lopenblas -llapacke -lcjson -lpcre2-8 -lm -o build/gemv_vs_ggml
echo "llama-cpp-python $("$PEERS_PY" -c 'import llama_cpp; print(llama_cpp.__version__)'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
exec build/gemv_vs_ggml "$types" "${2:-16384}" "${3:-4096}" "${4:-15}" "${5:-2}"
