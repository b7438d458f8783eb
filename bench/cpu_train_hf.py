#!/usr/bin/env python3
"""The peer side of bench/cpu_train_bench.py: LoRA fine-tuning with HF transformers + peft.

The strongest plain configuration of the peer on a CPU: AutoModelForCausalLM (SDPA attention) in
fp32, peft LoRA on every linear layer of the decoder, torch.optim.AdamW (fused where torch allows
it on the CPU), one optimizer step per batch, no Trainer (its logging and callbacks only add time).
Examples are the same texts llmft reads, tokenized by the same tokenizer.json, truncated to
--seq tokens; labels are the inputs, as in llmft's `text` format.

Prints `step N loss L tokens T` after every optimizer step (flushed), which the harness timestamps.
Imports are inside main() so that the harness's clock covers them, as it covers llmft's start-up.
"""
import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="HF model directory")
    parser.add_argument("--data", required=True, help="JSONL with {'text': ...} records")
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--checkpointing", action="store_true")
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32,
                                                 attn_implementation="sdpa")
    if args.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    config = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0,
                        target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0, fused=True)
    except (RuntimeError, ValueError):
        optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0, foreach=True)

    texts = []
    with open(args.data, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) == args.batch * args.steps:
                break
    if len(texts) < args.batch * args.steps:
        sys.exit(f"{args.data}: {len(texts)} records, need {args.batch * args.steps}")

    for step in range(1, args.steps + 1):
        chunk = texts[(step - 1) * args.batch: step * args.batch]
        encoded = tokenizer(chunk, truncation=True, max_length=args.seq, padding="longest",
                            return_tensors="pt")
        input_ids = encoded["input_ids"]
        labels = input_ids.masked_fill(encoded["attention_mask"] == 0, -100)
        loss = model(input_ids=input_ids, attention_mask=encoded["attention_mask"],
                     labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens = int(encoded["attention_mask"].sum())
        print(f"step {step} loss {loss.item():.6f} tokens {tokens}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
