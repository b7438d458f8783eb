#!/usr/bin/env bash
# Prepares .device/ for a GPU machine that has CUDA torch, a compiler, CMake and Ninja but no apt
# and no network: downloads the Debian packages of llmft's C++ dependencies (CLI11, yaml-cpp,
# sentencepiece, nlohmann-json, Catch2) as .deb files. scripts/device/gpu_check.sh unpacks them
# into a private sysroot there. Run here, then pass `.device` to the machine with the tree.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
debs="$repo_root/.device/debs"
mkdir -p "$debs"
cd "$debs"
packages=(libyaml-cpp0.7 libyaml-cpp-dev libsentencepiece0 libsentencepiece-dev libcli11-dev
          nlohmann-json3-dev catch2 libpcre2-dev libpcre2-8-0 libgloo-dev libjemalloc2 libjemalloc-dev
          libicu-dev libicu72)
for p in "${packages[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" 2>/dev/null
done
ls -1 "$debs"
