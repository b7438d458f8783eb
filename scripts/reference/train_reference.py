#!/usr/bin/env python3
"""transformers' + PEFT's side of the training parity test (tests/parity/test_train_parity.cpp).

    train_reference.py --model FIXTURE_DIR --windows WINDOWS.safetensors --out OUT_DIR
                       [--adapter ADAPTER_DIR] [--final-adapter DIR] --steps N --lr LR
                       --weight-decay WD --warmup W --max-grad-norm M

Trains as HF Trainer does with gradient accumulation: for each window (an optimizer step) every
micro-batch's loss is the sum of its token cross entropies divided by the window's supervised
token count (Trainer's num_items_in_batch), backward per micro-batch; then
torch.nn.utils.clip_grad_norm_, torch.optim.AdamW (foreach=False) with Trainer's two parameter
groups (no weight decay for biases and norms) and get_cosine_schedule_with_warmup.

With --adapter, the fp32 base gets that adapter through PeftModel.from_pretrained(is_trainable=True)
and only the adapter trains; without, every parameter trains (full fine-tuning).

WINDOWS holds w<k>.b<j>.{input_ids,attention_mask,labels} ([B, T] int64) for windows k = 0.. and
micro-batches j = 0.. . Writes OUT_DIR/result.safetensors:
    loss            [steps] fp64  window loss (mean CE over the window's supervised tokens)
    lr              [steps] fp64  learning rate used by each update
    grad_norm       [steps] fp64  total norm before clipping
    grad0.<name>    gradient at the first step, before clipping
    grad_last.<name> gradient at the last step, before clipping (LoRA's A has none at the first step:
                    B starts at zero)
    final.<name>    trainable parameters after the last step
<name> is the trainable parameter's name without PEFT's prefix and adapter name (model.layers.0.
self_attn.q_proj.lora_A.weight), i.e. llmft's module path. With --final-adapter, PEFT also loads
that adapter onto a fresh base and writes final_logits [B, T, V] for window 0's first micro-batch.
"""

import argparse
import os
import re
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import AutoModelForCausalLM, Trainer, get_cosine_schedule_with_warmup  # noqa: E402


def llmft_name(name):
    # base_model.model.<path>.lora_A.default.weight -> <path>.lora_A.weight
    name = name.removeprefix("base_model.model.")
    return name.replace(".default.", ".")


def read_windows(path):
    tensors = load_file(path)
    windows = {}
    for key, t in tensors.items():
        m = re.fullmatch(r"w(\d+)\.b(\d+)\.(input_ids|attention_mask|labels)", key)
        if not m:
            raise SystemExit(f"train_reference: unexpected tensor {key} in {path}")
        windows.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[m[3]] = t
    return [[w[j] for j in sorted(w)] for _, w in sorted(windows.items())]


def load_model(model_dir, adapter):
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is None:
        for p in base.parameters():
            p.requires_grad_(True)
        return base
    from peft import PeftModel

    return PeftModel.from_pretrained(base, adapter, is_trainable=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--windows", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--final-adapter")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--weight-decay", type=float, required=True)
    ap.add_argument("--warmup", type=int, required=True)
    ap.add_argument("--max-grad-norm", type=float, required=True)
    args = ap.parse_args()

    # One thread: the models are tiny, and OpenMP workers only contend with the test runner's.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = load_model(args.model, args.adapter)
    model.train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = set(Trainer.get_decay_parameter_names(None, model))  # Trainer's rule; `self` is unused
    groups = [
        {"params": [p for n, p in trainable if n in decay], "weight_decay": args.weight_decay},
        {"params": [p for n, p in trainable if n not in decay], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.warmup, args.steps)

    windows = read_windows(args.windows)
    if len(windows) < args.steps:
        raise SystemExit(f"train_reference: {len(windows)} windows for {args.steps} steps")
    result = {}
    losses, lrs, norms = [], [], []
    for step in range(args.steps):
        window = windows[step]
        n = sum(int((b["labels"][:, 1:] != -100).sum()) for b in window)
        loss = 0.0
        for b in window:
            out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"],
                        num_items_in_batch=n)
            out.loss.backward()
            loss += out.loss.item()
        losses.append(loss)
        lrs.append(scheduler.get_last_lr()[0])
        if step in (0, args.steps - 1):
            prefix = "grad0." if step == 0 else "grad_last."
            for name, p in trainable:
                result[prefix + llmft_name(name)] = p.grad.detach().clone().contiguous()
        norms.append(torch.nn.utils.clip_grad_norm_([p for _, p in trainable], args.max_grad_norm).item())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()

    for name, p in trainable:
        result["final." + llmft_name(name)] = p.detach().clone().contiguous()
    result["loss"] = torch.tensor(losses, dtype=torch.float64)
    result["lr"] = torch.tensor(lrs, dtype=torch.float64)
    result["grad_norm"] = torch.tensor(norms, dtype=torch.float64)

    if args.final_adapter:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
        peft = PeftModel.from_pretrained(base, args.final_adapter)
        peft.eval()
        b = windows[0][0]
        with torch.no_grad():
            logits = peft(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        result["final_logits"] = logits.float().contiguous()

    os.makedirs(args.out, exist_ok=True)
    save_file(result, os.path.join(args.out, "result.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
