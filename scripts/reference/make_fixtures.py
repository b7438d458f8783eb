#!/usr/bin/env python3
"""Writes the reference fixtures of the parity tests (tests/parity/): tiny random checkpoints and
what transformers computes on them.

    make_fixtures.py --out DIR

For each case in fixture_cases.py, DIR/<case>/ is an HF model directory (config.json,
model.safetensors or two shards + index) plus reference.safetensors:
    input_ids, attention_mask, labels, valid   [B, T] int64
    position_ids                               [B, T] int64, only when not arange(T) (left padding,
                                               or an offset); absent means "use the default"
    logits                                     [B, T, V] fp32 (run in the checkpoint dtype, upcast)
    loss                                       fp32, shape [] (0-dim, as transformers returns it)
Labels are unshifted (HF convention): loss = mean over labels[:, 1:] != -100 of the cross-entropy
of logits[:, :-1]. valid is 1 where logits are comparable (real tokens; padded positions are
implementation-defined). A case with bf16_at_load also gets reference_bf16.safetensors: the same
fp32 checkpoint loaded as bf16 by transformers. DIR/manifest.json lists cases, dtypes, tolerances
and the self-checks' measurements.

Deterministic (fixed seeds), offline (configs built in code), CPU only. Fails loudly (exit 1) when
transformers writes something other than what a case claims to exercise.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

import bf16_sensitivity  # noqa: E402
import chat_fixture  # noqa: E402
import tolerances  # noqa: E402
from fixture_cases import CASES, MIN_CONTRAST  # noqa: E402
from fixture_lib import (FixtureError, apply_contrast_, check_checkpoint, fail_unless,  # noqa: E402
                         hf_forward, load_hf, make_batch, max_valid_diff, randomize_, write_reference)

ST_DTYPE = {"float32": "F32", "bfloat16": "BF16"}


def save_checkpoint(model, case_dir, shards):
    if shards == 1:
        model.save_pretrained(case_dir)
        return
    # HF fills shards greedily up to max_shard_size; 55% of the total gives two for these sizes.
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    model.save_pretrained(case_dir, max_shard_size=int(total * 0.55))


def check_config_json(case_dir, case, model):
    """config.json as transformers 5 writes it: the keys the C++ loader (model/hf_config.cpp) must accept."""
    cfg = json.loads((case_dir / "config.json").read_text())
    name = case["name"]
    fail_unless(cfg.get("architectures") == [type(model).__name__],
                f"{name}: architectures {cfg.get('architectures')}")
    fail_unless(cfg.get("dtype") == case["dtype"], f"{name}: dtype {cfg.get('dtype')} != {case['dtype']}")
    for legacy in ("torch_dtype", "rope_scaling", "rope_theta"):
        fail_unless(legacy not in cfg, f"{name}: transformers wrote legacy key {legacy}")
    rope = cfg.get("rope_parameters")
    fail_unless(isinstance(rope, dict) and "rope_theta" in rope, f"{name}: rope_parameters {rope}")
    want = case["kwargs"].get("rope_scaling", {"rope_type": "default"})
    for key, value in want.items():
        fail_unless(rope.get(key) == value, f"{name}: rope_parameters[{key}] = {rope.get(key)}, want {value}")
    for key in ("head_dim", "sliding_window", "tie_word_embeddings", "attention_bias", "mlp_bias"):
        if key in case["kwargs"]:
            fail_unless(cfg.get(key) == case["kwargs"][key], f"{name}: {key} = {cfg.get(key)}")
    return sorted(cfg)


def check_padding_invisible(hf, batch, logits, atol, name):
    """Each padded row's valid logits equal those of the row run alone without padding."""
    mask = batch["attention_mask"]
    worst = 0.0
    for row in range(mask.shape[0]):
        keep = mask[row].bool()
        if keep.all():
            continue
        kwargs = {"input_ids": batch["input_ids"][row:row + 1, keep]}  # [1, n real tokens]
        if batch["position_ids"] is not None:
            kwargs["position_ids"] = batch["position_ids"][row:row + 1, keep]
        with torch.no_grad():
            row_logits = hf(**kwargs).logits.float()[0]  # [n, V]
        worst = max(worst, (row_logits - logits[row, keep]).abs().max().item())
    fail_unless(worst <= atol, f"{name}: padded rows differ from unpadded runs by {worst:.3g}")
    return worst


def build_case(case, out, seed):
    name, dtype = case["name"], getattr(torch, case["dtype"])
    case_dir = out / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(case["config"](**case["kwargs"]), attn_implementation="sdpa")
    randomize_(model, seed)
    model = model.to(dtype).eval()
    save_checkpoint(model, case_dir, case["shards"])
    config_keys = check_config_json(case_dir, case, model)
    _, files = check_checkpoint(case_dir, model, case["shards"], ST_DTYPE[case["dtype"]])

    hf = load_hf(case_dir, dtype)
    saved = dict(model.named_parameters())
    reloaded = dict(hf.named_parameters())
    fail_unless(reloaded.keys() == saved.keys(), f"{name}: reloaded parameter names differ")
    for n, p in reloaded.items():
        fail_unless(torch.equal(p, saved[n]), f"{name}: reloaded {n} differs from what was saved")

    batch = make_batch(case["kwargs"]["vocab_size"], case["seq_len"], case["rows"], case["left_padded"],
                       case.get("position_offset", 0), seed + 1)
    valid = batch["attention_mask"]
    logits, loss = hf_forward(hf, batch)
    write_reference(case_dir / "reference.safetensors", batch, logits, loss)
    entry = {"name": name, "architecture": type(model).__name__, "dtype": case["dtype"],
             "weight_files": files, "config_keys": config_keys,
             "padded": bool((valid == 0).any()), "has_position_ids": batch["position_ids"] is not None,
             "references": [{"file": "reference.safetensors", "load_dtype": case["dtype"],
                             "tolerance": tolerances.manifest_entry(case["dtype"])}],
             "loss": loss.item(), "max_abs_logit": logits[valid.bool()].abs().max().item()}

    if case["dtype"] == "float32":
        eager_logits, eager_loss = hf_forward(load_hf(case_dir, dtype, "eager"), batch)
        self_check = max(max_valid_diff(eager_logits, logits, valid), abs(eager_loss - loss).item())
        fail_unless(self_check <= tolerances.FP32_SELF_CHECK,
                    f"{name}: HF sdpa vs eager differ by {self_check:.3g}")
        entry["sdpa_vs_eager_max_abs"] = self_check
        entry["padding_vs_unpadded_max_abs"] = check_padding_invisible(
            hf, batch, logits, tolerances.FP32_SELF_CHECK, name)
    else:
        entry["bf16_sensitivity"] = bf16_sensitivity.verify(case_dir, batch, logits, loss)

    entry["contrasts"] = {}
    for label, spec in case["contrasts"]:
        variant = load_hf(case_dir, dtype, config_overrides=spec.get("config"))
        apply_contrast_(variant, spec)
        moved = max_valid_diff(hf_forward(variant, batch)[0], logits, valid)
        fail_unless(moved >= MIN_CONTRAST, f"{name}: contrast '{label}' moves logits by only {moved:.3g}")
        entry["contrasts"][label] = moved

    if case.get("bf16_at_load"):
        bf16_logits, bf16_loss = hf_forward(load_hf(case_dir, torch.bfloat16), batch)
        write_reference(case_dir / "reference_bf16.safetensors", batch, bf16_logits, bf16_loss)
        entry["references"].append({"file": "reference_bf16.safetensors", "load_dtype": "bfloat16",
                                    "tolerance": tolerances.manifest_entry("bfloat16")})
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory (created)")
    args = parser.parse_args()
    transformers.utils.logging.disable_progress_bar()
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, case in enumerate(CASES):
        start = time.perf_counter()
        try:
            entries.append(build_case(case, args.out, seed=1000 + 10 * index))
        except FixtureError as err:
            print(f"make_fixtures: {err}", file=sys.stderr)
            return 1
        e = entries[-1]
        print(f"{e['name']:18s} {e['dtype']:9s} loss {e['loss']:.4f} max|logit| {e['max_abs_logit']:6.2f}"
              f"  ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    try:  # tiny_chat/: a trainable model, its tokenizer and datasets (chat_fixture.py)
        data_fixtures = [chat_fixture.build(args.out)]
    except FixtureError as err:
        print(f"make_fixtures: {err}", file=sys.stderr)
        return 1
    print(f"{'tiny_chat':18s} data fixture  ({time.perf_counter() - start:.1f} s)")
    manifest = {
        "format": 1,
        "generator": "scripts/reference/make_fixtures.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "conventions": {
            "labels": "unshifted; -100 ignored; loss = mean CE of logits[:, :-1] vs labels[:, 1:]",
            "loss_shape": "[] (0-dim fp32)",
            "valid": "[B, T] int64, 1 where logits are compared (attention_mask)",
            "position_ids": "stored only when not arange(T); otherwise pass none",
        },
        "cases": entries,
        "data_fixtures": data_fixtures,
    }
    tmp = args.out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(args.out / "manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
