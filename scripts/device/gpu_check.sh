#!/usr/bin/env bash
# The prepared GPU check: builds llmft against the machine's CUDA torch (python3's wheel), runs the
# whole test suite (CPU and CUDA cases), and prints a short summary last. Logs go to $OUT when set.
# Needs .device/debs from scripts/device/prepare.sh (the C++ dependencies as Debian packages).
#
#   bash scripts/device/gpu_check.sh            # build + all tests
#   LLMFT_GPU_TESTS="[cuda]" bash scripts/device/gpu_check.sh   # build + a subset
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
out="${OUT:-$repo_root/.device/out}"
mkdir -p "$out"
sysroot="$repo_root/.device/sysroot"
build="$repo_root/build-cuda"
python="${LLMFT_PYTHON:-python3}"

step() { printf '\n==== %s (%ss)\n' "$*" "$SECONDS"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c "import torch;print('torch',torch.__version__,'cuda',torch.version.cuda,'available',torch.cuda.is_available())"
g++ --version | head -1; cmake --version | head -1

step "sysroot"
mkdir -p "$sysroot"
for f in .device/debs/*.deb; do dpkg -x "$f" "$sysroot"; done
lib="$sysroot/usr/lib/x86_64-linux-gnu"
export PKG_CONFIG_SYSROOT_DIR="$sysroot" PKG_CONFIG_PATH="$lib/pkgconfig"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "configure"
cmake -S . -B "$build" -G Ninja -DLLMFT_PYTHON="$(command -v "$python")" \
  -DLLMFT_REFERENCE_PYTHON="$(command -v "$python")" \
  -DCMAKE_PREFIX_PATH="$sysroot/usr" -DLLMFT_USE_CCACHE=OFF 2>&1 | tee "$out/configure.log" | grep -E "llmft|Error|error" || true

step "build"
if ! ninja -C "$build" -j"$(nproc)" >"$out/build.log" 2>&1; then
  grep -E "error|Error" "$out/build.log" | head -40
  echo "BUILD FAILED"; exit 1
fi
"$build/llmft" --version

step "tests"
(cd "$build" && ctest --output-on-failure -j8 ${LLMFT_GPU_TESTS:+-R "$LLMFT_GPU_TESTS"} >"$out/ctest.log" 2>&1)
rc=$?
grep -E "tests passed|tests failed|Failed|\*\*\*" "$out/ctest.log" | tail -30

step "summary"
echo "ctest exit: $rc"
exit $rc
