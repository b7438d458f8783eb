#!/usr/bin/env python3
"""PEFT's side of the LoRA parity test (tests/parity/test_peft_parity.cpp).

    peft_reference.py --model FIXTURE_DIR --adapter ADAPTER_DIR --reference REFERENCE.safetensors --out OUT.safetensors

Loads the tiny HF checkpoint in fp32, puts llmft's adapter on it with
PeftModel.from_pretrained(..., is_trainable=True), runs one forward + backward on the fixture's
batch (input_ids, attention_mask, labels, and position_ids when present) and writes OUT:
    loss                  [] fp32
    logits                [B, T, V] fp32
    grad.<key>            the gradient of every adapter parameter, <key> as in adapter_model.safetensors
                          (base_model.model.<module path>.lora_A.weight / .lora_B.weight)
    weight.<key>          the adapter weights PEFT holds after loading (they must equal the file's)
With --save DIR, PEFT also writes the adapter it loaded with its own save_pretrained, so llmft's
reader is checked on PEFT's files. Fails (exit 1) when PEFT's trainable parameters are not exactly the adapter file's tensors.
"""

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402


def adapter_key(param_name):
    # PEFT's in-memory names carry the adapter name ("...lora_A.default.weight"); saved keys do not.
    return param_name.replace(".default.", ".")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save", help="also save_pretrained the loaded adapter here")
    args = ap.parse_args()

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, args.adapter, is_trainable=True)

    saved = load_file(os.path.join(args.adapter, "adapter_model.safetensors"))
    trainable = {adapter_key(n): p for n, p in model.named_parameters() if p.requires_grad}
    if set(trainable) != set(saved):
        print(f"peft_reference: PEFT's trainable parameters {sorted(set(trainable) ^ set(saved))} differ "
              f"from the adapter file's tensors", file=sys.stderr)
        return 1

    ref = load_file(args.reference)
    batch = {k: ref[k] for k in ("input_ids", "attention_mask", "labels")}
    if "position_ids" in ref:
        batch["position_ids"] = ref["position_ids"]
    out = model(**batch)
    out.loss.backward()

    result = {"loss": out.loss.detach().float().contiguous(), "logits": out.logits.detach().float().contiguous()}
    for key, p in trainable.items():
        if p.grad is None:
            print(f"peft_reference: no gradient for {key}", file=sys.stderr)
            return 1
        result["grad." + key] = p.grad.detach().float().contiguous()
        result["weight." + key] = p.detach().float().contiguous()
    save_file(result, args.out)
    if args.save:
        model.save_pretrained(args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
