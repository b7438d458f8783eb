"""Reference numbers for the real SmolLM2-135M-Instruct GGUF, computed by transformers.

  reference --gguf FILE --out DIR
      transformers loads the GGUF itself (gguf_file=..., dequantized to fp32) and writes
      DIR/smollm2_reference.safetensors: for each prompt i, input_ids.i [1, T] int64 (llmft's
      tokenizer must produce the same ids for the prompt text; see test_bpe_tokenizer.cpp for the
      documented digit-split difference, which these prompts avoid) and logits.i [1, T, V] fp32;
      plus DIR/smollm2_prompts.json with the texts.

  check-converted --gguf FILE --hf DIR --ids JSON
      Loads DIR (written by `llmft convert`) with AutoModelForCausalLM / AutoTokenizer, compares its
      logits with transformers' own GGUF load, and its tokenizer's ids with the ids llmft produced
      (JSON: [{"text": ..., "ids": [...]}, ...]). Prints one JSON object with the measurements.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "<|im_start|>user\nWhat is a llama?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
]


def load_gguf_model(gguf):
    directory, name = os.path.split(os.path.abspath(gguf))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    return model.eval()


def logits_for(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def make_reference(args):
    directory, name = os.path.split(os.path.abspath(args.gguf))
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = load_gguf_model(args.gguf)
    tensors = {}
    for i, text in enumerate(PROMPTS):
        ids = torch.tensor([tokenizer(text, add_special_tokens=False).input_ids], dtype=torch.int64)
        tensors[f"input_ids.{i}"] = ids
        tensors[f"logits.{i}"] = logits_for(model, ids).contiguous()
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "smollm2_reference.safetensors"))
    with open(os.path.join(args.out, "smollm2_prompts.json"), "w") as f:
        json.dump(PROMPTS, f)


def check_converted(args):
    reference = load_gguf_model(args.gguf)
    converted = AutoModelForCausalLM.from_pretrained(args.hf, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.hf)
    with open(args.ids) as f:
        cases = json.load(f)
    mismatches = []
    for case in cases:
        ids = tokenizer(case["text"], add_special_tokens=False).input_ids
        if ids != case["ids"]:
            mismatches.append({"text": case["text"], "hf": ids, "llmft": case["ids"]})
    max_abs, scale = 0.0, 0.0
    for case in cases[: len(PROMPTS)]:
        ids = torch.tensor([case["ids"]], dtype=torch.int64)
        a, b = logits_for(reference, ids), logits_for(converted, ids)
        max_abs = max(max_abs, (a - b).abs().max().item())
        scale = max(scale, a.abs().max().item())
    chat = [{"role": "user", "content": "Hi"}]
    rendered = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    print(json.dumps({
        "texts": len(cases),
        "token_mismatches": mismatches[:5],
        "token_mismatch_count": len(mismatches),
        "logits_max_abs": max_abs,
        "logits_scale": scale,
        "chat_template_rendered": rendered,
        "eos_token": tokenizer.eos_token,
        "tied": bool(converted.config.tie_word_embeddings),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    ref = sub.add_parser("reference")
    ref.add_argument("--gguf", required=True)
    ref.add_argument("--out", required=True)
    check = sub.add_parser("check-converted")
    check.add_argument("--gguf", required=True)
    check.add_argument("--hf", required=True)
    check.add_argument("--ids", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.mode == "reference":
        make_reference(args)
    else:
        check_converted(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
