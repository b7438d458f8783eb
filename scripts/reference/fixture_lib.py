"""Building blocks for the reference fixtures: weights, batches, the HF forward, on-disk checks.

Shapes: B = batch, T = sequence length, V = vocab size. Everything here runs on CPU and is seeded.
"""

import json
import math
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM


class FixtureError(RuntimeError):
    """What transformers produced is not what a fixture claims to exercise."""


def fail_unless(condition, message):
    if not condition:
        raise FixtureError(message)


def randomize_(model, seed):
    """Overwrites every parameter with seeded values that make each feature visible in the logits.

    transformers initialises norms to 1 and biases to 0 (a loader that ignored them would still
    match) and linears with std 0.02 (attention would be near-uniform, so mask and RoPE mistakes
    would barely move the logits). Instead: norms 1 + 0.2 N(0,1), biases 0.2 N(0,1), linears
    N(0,1)/sqrt(fan_in) (activations O(1), attention scores O(1)), embeddings 0.25 N(0,1) (a tied
    lm_head then gives logits of std ~2, like the untied N(0,1)/sqrt(hidden) one).
    named_parameters() yields a tied lm_head/embedding pair once.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                value = 1.0 + 0.2 * noise
            elif name.endswith(".bias"):
                value = 0.2 * noise
            elif name.endswith("embed_tokens.weight"):
                value = 0.25 * noise
            else:  # [out, in] linear weight
                value = noise / math.sqrt(param.shape[1])
            param.copy_(value.to(param.dtype))


def make_batch(vocab_size, seq_len, row_lengths, left_padded_rows, position_offset, seed):
    """A batch of B = len(row_lengths) rows, each padded to seq_len.

    Rows are right-padded except those in left_padded_rows. Labels are the input ids (unshifted,
    HF convention) with -100 on padding, on the first 3 tokens of row 0 (a masked prompt) and on
    the first real token of a left-padded row (its predictor would be a pad position).
    Position ids count valid tokens only (0 on left padding), plus position_offset; they equal
    arange(T), HF's default, when no row is left-padded and the offset is 0, and are then None.
    Returns dict of [B, T] int64 tensors (position_ids may be None).
    """
    gen = torch.Generator().manual_seed(seed)
    batch = len(row_lengths)
    input_ids = torch.randint(0, vocab_size, (batch, seq_len), generator=gen, dtype=torch.int64)
    attention_mask = torch.zeros(batch, seq_len, dtype=torch.int64)
    for row, length in enumerate(row_lengths):
        fail_unless(0 < length <= seq_len, f"row {row} length {length} not in (0, {seq_len}]")
        if row in left_padded_rows:
            attention_mask[row, seq_len - length:] = 1
        else:
            attention_mask[row, :length] = 1
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)  # pad id 0: any id works, it is masked
    labels = input_ids.masked_fill(attention_mask == 0, -100)
    labels[0, :3] = -100
    for row in left_padded_rows:  # the first real token is predicted by a pad position: not a target
        labels[row, seq_len - row_lengths[row]] = -100
    # The loss may only use logits at real positions: labels[:, t + 1] counts => position t is real.
    fail_unless(bool((attention_mask[:, :-1].bool() | (labels[:, 1:] == -100)).all()),
                "a loss target is predicted from a padded position")
    position_ids = None
    if left_padded_rows or position_offset:
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0) + position_offset
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
            "position_ids": position_ids}


def apply_contrast_(model, spec):
    """Weight edits of a contrast (see fixture_cases.py): zero parameters by name suffix, or swap
    two query heads (rows of q_proj, columns of o_proj) in every layer."""
    with torch.no_grad():
        for suffix in spec.get("zero", ()):
            hits = [p for n, p in model.named_parameters() if n.endswith(suffix)]
            fail_unless(hits, f"contrast: no parameter ends with {suffix}")
            for p in hits:
                p.zero_()
        if "swap_q_heads" in spec:
            a, b = spec["swap_q_heads"]
            for layer in model.model.layers:
                attn, d = layer.self_attn, layer.self_attn.head_dim
                heads = list(range(attn.q_proj.out_features // d))
                heads[a], heads[b] = heads[b], heads[a]
                rows = (torch.tensor(heads)[:, None] * d + torch.arange(d)).reshape(-1)
                attn.q_proj.weight.copy_(attn.q_proj.weight[rows])
                if attn.q_proj.bias is not None:
                    attn.q_proj.bias.copy_(attn.q_proj.bias[rows])
                attn.o_proj.weight.copy_(attn.o_proj.weight[:, rows])


def load_hf(model_dir, dtype, attn_implementation="sdpa", config_overrides=None):
    """from_pretrained, optionally with config attributes replaced (a contrast)."""
    config = AutoConfig.from_pretrained(model_dir)
    for key, value in (config_overrides or {}).items():
        setattr(config, key, value)
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, config=config, dtype=dtype, attn_implementation=attn_implementation)
    return model.eval()


def hf_forward(model, batch):
    """Returns (logits [B, T, V] fp32, loss [] fp32) of an HF model on `batch`."""
    kwargs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
    if batch["position_ids"] is not None:
        kwargs["position_ids"] = batch["position_ids"]
    with torch.no_grad():
        out = model(**kwargs)
    return out.logits.float(), out.loss.float()


def max_valid_diff(a, b, valid):
    """max |a - b| over positions where valid [B, T] is 1; a, b: [B, T, V]."""
    return (a - b).abs()[valid.bool()].max().item()


def write_reference(path, batch, logits, loss):
    """reference.safetensors: the batch, fp32 logits [B,T,V], fp32 loss of shape [] and valid [B,T].

    valid = attention_mask: logits at padded positions are implementation-defined and excluded.
    """
    fail_unless(torch.isfinite(logits[batch["attention_mask"].bool()]).all(), f"{path}: non-finite logits")
    fail_unless(torch.isfinite(loss), f"{path}: non-finite loss")
    tensors = {
        "input_ids": batch["input_ids"],
        "attention_mask": batch["attention_mask"],
        "labels": batch["labels"],
        "logits": logits.contiguous(),
        "loss": loss.reshape([]).contiguous(),
        "valid": batch["attention_mask"].clone(),
    }
    if batch["position_ids"] is not None:
        tensors["position_ids"] = batch["position_ids"]
    save_file(tensors, str(path), metadata={"format": "pt"})


def stored_tensors(model_dir):
    """{name: (safetensors dtype, shape)} across all weight files, and the list of files."""
    model_dir = Path(model_dir)
    files = sorted(p.name for p in model_dir.glob("*.safetensors"))
    found = {}
    for file in files:
        with safe_open(model_dir / file, framework="pt") as f:
            for name in f.keys():
                fail_unless(name not in found, f"{model_dir}: {name} stored twice")
                t = f.get_slice(name)
                found[name] = (t.get_dtype(), list(t.get_shape()))
    return found, files


def check_checkpoint(model_dir, model, expect_shards, expect_dtype):
    """Fails unless model_dir holds exactly the expected weight files, names, shapes and dtypes."""
    model_dir = Path(model_dir)
    stored, files = stored_tensors(model_dir)
    if expect_shards == 1:
        fail_unless(files == ["model.safetensors"], f"{model_dir}: expected model.safetensors, got {files}")
        fail_unless(not (model_dir / "model.safetensors.index.json").exists(),
                    f"{model_dir}: unexpected index")
    else:
        want = [f"model-{i:05d}-of-{expect_shards:05d}.safetensors" for i in range(1, expect_shards + 1)]
        fail_unless(files == want, f"{model_dir}: expected shards {want}, got {files}")
        index = json.loads((model_dir / "model.safetensors.index.json").read_text())
        fail_unless(set(index["weight_map"]) == set(stored), f"{model_dir}: index weight_map != stored names")
        fail_unless(set(index["weight_map"].values()) == set(want), f"{model_dir}: index names other shards")
    expected = {n: list(p.shape) for n, p in model.named_parameters()}  # tied lm_head appears once
    tied = model.config.tie_word_embeddings
    fail_unless(("lm_head.weight" in stored) != tied,
                f"{model_dir}: lm_head.weight stored={('lm_head.weight' in stored)} with tie={tied}")
    fail_unless(set(stored) == set(expected),
                f"{model_dir}: stored names differ: extra {set(stored) - set(expected)}, "
                f"missing {set(expected) - set(stored)}")
    for name, (dtype, shape) in stored.items():
        fail_unless(shape == expected[name], f"{model_dir}: {name} shape {shape} != {expected[name]}")
        fail_unless(dtype == expect_dtype, f"{model_dir}: {name} stored as {dtype}, expected {expect_dtype}")
    return stored, files
