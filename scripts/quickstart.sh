#!/usr/bin/env bash
# The quickstart: after `make quickstart` has built llmft, show what this build can do end to end.
# Until the training recipe lands it builds a small Llama checkpoint with the reference tools
# (transformers), inspects it with llmft, and says that fine-tuning is not yet available.
set -euo pipefail
build="${1:-build}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
llmft="$build/llmft"
work="$build/quickstart"
mkdir -p "$work"

"$llmft" --version
echo
echo "== Making small reference checkpoints with transformers (random init, offline)"
.venv/bin/python scripts/reference/make_fixtures.py --out "$work/fixtures" >/dev/null
echo
echo "== llmft inspect $work/fixtures/llama_two_shard"
"$llmft" inspect "$work/fixtures/llama_two_shard"
echo
echo "llmft train: not yet available in this build (see docs/ and the issue tracker); the checkpoint"
echo "loader and the model above are what training will start from."
