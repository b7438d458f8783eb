#!/usr/bin/env python3
"""transformers' side of the `llmft eval` parity tests (tests/cli/test_eval_cli.cpp).

    eval_reference.py loss --model PATH [--adapter DIR] --batches BATCHES.safetensors --out RESULT.json
    eval_reference.py mc   --model PATH --task TASK.jsonl [--limit N] --out RESULT.json

PATH is an HF model directory or a .gguf file (transformers loads it with gguf_file=, dequantized to
fp32). Everything runs in fp32 on the CPU, in eval mode, without gradients.

loss: BATCHES holds b<j>.{input_ids,attention_mask,labels} ([B, T] int64, labels unshifted with -100
where ignored), the batches llmft evaluates. Writes {"loss", "supervised_tokens", "correct"}: the
mean cross entropy over labels[:, 1:] != -100 (transformers' ForCausalLMLoss shift), and how many of
those targets equal the argmax of the logits. With --adapter, PEFT applies the adapter (not merged).

mc: tokenizes with the model's HF tokenizer as lm-evaluation-harness does (HFLM._encode_pair: trailing
spaces of the context move to the continuation; whole = encode(context + continuation),
context = encode(context), continuation = whole[len(context):]; add_special_tokens=False), scores each
choice as the continuation " " + choice, one request at a time (no padding), and writes
{"items", "correct", "correct_norm", "acc", "acc_norm", "loglikelihoods": [[per choice], ...]}
with acc_norm dividing by the choice's length in UTF-8 bytes.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def load(path, with_tokenizer=True):
    p = Path(path)
    if p.suffix == ".gguf":
        kwargs = {"gguf_file": p.name}
        directory = str(p.parent)
    else:
        kwargs = {}
        directory = str(p)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, **kwargs).eval()
    # Building a fast tokenizer from a GGUF vocabulary takes a while: only when needed.
    tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs) if with_tokenizer else None
    return model, tokenizer


def read_batches(path):
    tensors = load_file(path)
    batches = {}
    for key, t in tensors.items():
        m = re.fullmatch(r"b(\d+)\.(input_ids|attention_mask|labels)", key)
        if not m:
            raise SystemExit(f"eval_reference: unexpected tensor {key} in {path}")
        batches.setdefault(int(m[1]), {})[m[2]] = t
    return [batches[k] for k in sorted(batches)]


@torch.no_grad()
def loss_command(args):
    model, _ = load(args.model, with_tokenizer=False)
    if args.adapter:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, args.adapter).eval()
    loss_sum, count, correct = 0.0, 0, 0
    for b in read_batches(args.batches):
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits.float()  # [B, T, V]
        targets = b["labels"][:, 1:].reshape(-1)            # [B*(T-1)]
        flat = logits[:, :-1].reshape(-1, logits.size(-1))  # [B*(T-1), V]
        keep = targets != -100
        loss_sum += torch.nn.functional.cross_entropy(flat, targets, ignore_index=-100, reduction="sum").item()
        count += int(keep.sum())
        correct += int(((flat.argmax(-1) == targets) & keep).sum())
    result = {"loss": loss_sum / count if count else 0.0, "supervised_tokens": count, "correct": correct}
    Path(args.out).write_text(json.dumps(result))


def encode_pair(tokenizer, context, continuation):
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tokenizer(context + continuation, add_special_tokens=False).input_ids
    ctx = tokenizer(context, add_special_tokens=False).input_ids
    return ctx, whole[len(ctx):]


@torch.no_grad()
def mc_command(args):
    model, tokenizer = load(args.model)
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    items = [json.loads(line) for line in Path(args.task).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.limit:
        items = items[:args.limit]
    all_lls, correct, correct_norm = [], 0, 0
    for item in items:
        lls = []
        for choice in item["choices"]:
            ctx, cont = encode_pair(tokenizer, item["context"], " " + choice)
            if not ctx:
                ctx = [prefix]
            ids = torch.tensor([(ctx + cont)[:-1]])
            logp = model(input_ids=ids).logits[0, -len(cont):].float().log_softmax(-1)  # [n, V]
            lls.append(logp.gather(1, torch.tensor(cont).unsqueeze(1)).sum().item())
        norm = [ll / max(1, len(c.encode("utf-8"))) for ll, c in zip(lls, item["choices"])]
        correct += int(max(range(len(lls)), key=lambda i: (lls[i], -i)) == item["gold"])
        correct_norm += int(max(range(len(norm)), key=lambda i: (norm[i], -i)) == item["gold"])
        all_lls.append(lls)
    n = len(items)
    result = {"items": n, "correct": correct, "correct_norm": correct_norm, "acc": correct / n,
              "acc_norm": correct_norm / n, "loglikelihoods": all_lls}
    Path(args.out).write_text(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    loss = sub.add_parser("loss")
    loss.add_argument("--model", required=True)
    loss.add_argument("--adapter")
    loss.add_argument("--batches", required=True)
    loss.add_argument("--out", required=True)
    mc = sub.add_parser("mc")
    mc.add_argument("--model", required=True)
    mc.add_argument("--task", required=True)
    mc.add_argument("--limit", type=int, default=0)
    mc.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    (loss_command if args.command == "loss" else mc_command)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
