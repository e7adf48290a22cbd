#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies and models when missing,
# builds with warnings as errors, runs ctest (closing line: "N tests failed out of M").
# LLMQ_SANITIZE=1 builds and runs the suite with ASan+UBSan (in build-asan).
# LLMQ_EMU512=1 builds the AVX-512 kernels against SIMDe's emulation and runs
# the suite on them, for CPUs without AVX-512 (use LLMQ_BUILD=build-emu512).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD=${LLMQ_BUILD:-build}
ARGS=(-DLLMQ_WERROR=ON)
if [ "${LLMQ_SANITIZE:-0}" = 1 ]; then
  ARGS+=(-DLLMQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if [ "${LLMQ_EMU512:-0}" = 1 ]; then
  ARGS+=(-DLLMQ_EMU512=ON)
fi
cmake -S . -B "$BUILD" "${ARGS[@]}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
cd "$BUILD" && ctest --output-on-failure -j "$(nproc)"
