#!/usr/bin/env bash
# The sanitizer pass (`make sanitize`, part of CI): one clang build with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer over every llmft library, the CLI and the tests,
# plus libFuzzer's coverage counters so the same build also holds the fuzz targets (fuzz/). Then:
#   1. the whole test suite under the sanitizers (any report fails the test that triggered it);
#   2. every fuzz target for a bounded time (scripts/fuzz.sh).
# Usage: scripts/sanitize.sh [BUILD_DIR=build-san] [FUZZ_SECONDS=30] [JOBS=nproc]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build="${1:-build-san}"
fuzz_seconds="${2:-30}"
jobs="${3:-$(nproc)}"

# -O1 keeps the instrumented suite fast enough; line tables alone make reports name file:line.
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
  -DLLMFT_SANITIZE=ON -DLLMFT_FUZZ=ON ${CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"

supp="$repo_root/tests/sanitizers"
# Any report is fatal (exit code 1 after the report). Leak checking is on (ASan's default on Linux).
export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# The kill/resume cycles run slower under the sanitizers; a smaller count still lands kills inside
# checkpoint writes (the full count runs in `make test`).
export LLMFT_CRASH_TEST_ITERATIONS="${LLMFT_CRASH_TEST_ITERATIONS:-8}"

(cd "$build" && ctest --output-on-failure -j "$jobs" ${CTEST_ARGS:-})
# fuzz.sh sets its own sanitizer options (e.g. allocator_may_return_null for the rss limit).
env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS bash scripts/fuzz.sh "$build" "$fuzz_seconds"
