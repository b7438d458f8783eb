#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time and prints one summary line each.
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]     (default 30 s per target)
#
# BUILD_DIR is configured with
#   cmake -S . -B BUILD_DIR -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
#         -DLLMFT_SANITIZE=ON -DLLMFT_FUZZ=ON -DLLMFT_BUILD_TESTS=OFF
# and built with `cmake --build BUILD_DIR --target llmft_fuzzers` (fuzz/CMakeLists.txt).
#
# Each target starts from a copy of fuzz/corpus/<name>/ plus fuzz/regressions/<name>/ in a temp dir
# (the source tree is never written), uses fuzz/dict/<name>.dict when present, and runs with
# -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10. Crash/timeout/OOM/leak reproducers go to
# BUILD_DIR/fuzz-artifacts/<name>/. Exits 1 if any target reported a finding.
#
# Environment: FUZZ_TARGETS="gguf jsonl" runs a subset; FUZZ_ARGS adds libFuzzer flags;
# FUZZ_KEEP_CORPUS=DIR copies each grown corpus to DIR/<name>/ (to merge back by hand if wanted).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS_PER_TARGET]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
targets=${FUZZ_TARGETS:-"safetensors gguf hf_config recipe jsonl tokenizer_json chat_template"}

work=$(mktemp -d "${TMPDIR:-/tmp}/llmft-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-"abort_on_error=1:detect_leaks=1:allocator_may_return_null=1"}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-"print_stacktrace=1:halt_on_error=1"}

failed=0
for name in $targets; do
  binary="$build_dir/fuzz/llmft_fuzz_$name"
  if [[ ! -x "$binary" ]]; then
    echo "fuzz $name: MISSING $binary (build target llmft_fuzz_$name)" >&2
    failed=1
    continue
  fi
  corpus="$work/corpus/$name"
  mkdir -p "$corpus" "$work/tmp/$name"
  for seeds in "$root/fuzz/corpus/$name" "$root/fuzz/regressions/$name"; do
    if [[ -d "$seeds" ]]; then find "$seeds" -maxdepth 1 -type f -exec cp {} "$corpus/" \;; fi
  done
  seeds_count=$(find "$corpus" -type f | wc -l)
  artifacts="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$artifacts"
  before=$(find "$artifacts" -type f | wc -l)
  dict=()
  if [[ -f "$root/fuzz/dict/$name.dict" ]]; then dict=("-dict=$root/fuzz/dict/$name.dict"); fi
  log="$build_dir/fuzz-artifacts/$name.log"
  touch "$work/start-$name"
  rc=0
  # TMPDIR: the targets write their scratch files (model.safetensors, tokenizer.json, ...) there.
  TMPDIR="$work/tmp/$name" "$binary" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} >"$log" 2>&1 || rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  final_stat() { { grep -E "^stat::$1:" "$log" || true; } | tail -1 | awk '{print $2}'; }
  execs=$(final_stat number_of_executed_units)
  rate=$(final_stat average_exec_per_sec)
  new_units=$(final_stat new_units_added)
  rss=$(final_stat peak_rss_mb)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$done_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$done_line")
  after=$(find "$artifacts" -type f | wc -l)
  findings=$((after - before))
  if [[ $rc -ne 0 && $findings -eq 0 ]]; then findings=1; fi  # died without writing an artifact
  status=ok
  if [[ $rc -ne 0 || $findings -ne 0 ]]; then
    status="FINDING (exit $rc; see $log)"
    failed=1
  fi
  printf 'fuzz %-15s execs=%s exec/s=%s cov=%s ft=%s corpus=%s (seeds %s, new %s) peak_rss=%sMB findings=%s %s\n' \
    "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$seeds_count" "${new_units:-?}" \
    "${rss:-?}" "$findings" "$status"
  if [[ $findings -ne 0 ]]; then
    find "$artifacts" -type f -newer "$work/start-$name" -printf '    artifact %p\n' 2>/dev/null || true
  fi
  if [[ -n "${FUZZ_KEEP_CORPUS:-}" ]]; then
    mkdir -p "$FUZZ_KEEP_CORPUS/$name"
    cp -r "$corpus/." "$FUZZ_KEEP_CORPUS/$name/"
  fi
done
exit $failed
