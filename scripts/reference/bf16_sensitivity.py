"""Evidence for the bf16 tolerance (tolerances.py): perturb HF's Llama forward and measure.

Legitimate variants must stay inside the tolerance; known dtype bugs must land outside it.
Runs on a bf16 Llama fixture; fails loudly (FixtureError) when either claim stops holding.
"""

import contextlib

import torch
import transformers.models.llama.modeling_llama as modeling_llama

from fixture_lib import fail_unless, hf_forward, load_hf
from tolerances import bf16_ratios, within_bf16


def _rms_norm_weight_first(self, x):
    # The weight multiplies in fp32 before the cast to bf16 (HF casts first, then multiplies).
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
    return (self.weight.float() * h).to(x.dtype)


def _rope_angles_in_bf16(self, x, position_ids):
    # position * inv_freq rounded to bf16 (HF computes the angles in fp32): wrong at large positions.
    freqs = position_ids[..., None].to(x.dtype) * self.inv_freq.to(x.dtype)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


@contextlib.contextmanager
def _patched(cls, name, fn):
    old = getattr(cls, name)
    setattr(cls, name, fn)
    try:
        yield
    finally:
        setattr(cls, name, old)


def verify(model_dir, batch, ref_logits, ref_loss):
    """Returns {variant: ratios} (error / bound, see tolerances.bf16_ratios)."""
    valid = batch["attention_mask"]
    results = {}

    def measure(tag, logits, loss):
        ratios = bf16_ratios(logits, loss, ref_logits, ref_loss, valid)
        results[tag] = {k: round(v, 3) for k, v in ratios.items()}

    measure("legit: eager attention", *hf_forward(load_hf(model_dir, torch.bfloat16, "eager"), batch))
    measure("legit: same weights computed in fp32", *hf_forward(load_hf(model_dir, torch.float32), batch))
    with _patched(modeling_llama.LlamaRMSNorm, "forward", _rms_norm_weight_first):
        measure("legit: RMSNorm weight before cast", *hf_forward(load_hf(model_dir, torch.bfloat16), batch))
    with _patched(modeling_llama.LlamaRotaryEmbedding, "forward", _rope_angles_in_bf16):
        measure("bug: RoPE angles in bf16", *hf_forward(load_hf(model_dir, torch.bfloat16), batch))

    for tag, ratios in results.items():
        if tag.startswith("legit"):
            fail_unless(within_bf16(ratios), f"bf16 tolerance rejects a correct variant ({tag}): {ratios}")
        else:
            fail_unless(not within_bf16(ratios), f"bf16 tolerance admits a bug ({tag}): {ratios}")
    return results
