#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies and models when missing,
# builds with warnings as errors, runs ctest (closing line: "N tests failed out of M").
# LLMQ_SANITIZE=1 builds and runs the suite with ASan+UBSan (in build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD=${LLMQ_BUILD:-build}
ARGS=(-DLLMQ_WERROR=ON)
if [ "${LLMQ_SANITIZE:-0}" = 1 ]; then
  ARGS+=(-DLLMQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$BUILD" "${ARGS[@]}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
cd "$BUILD" && ctest --output-on-failure -j "$(nproc)"
