"""How close llmft's logits and loss must be to the transformers reference, and the evidence.

fp32: absolute bounds. Two correct fp32 implementations differ by reduction order only; HF's own
sdpa and eager paths agree to ~1e-6 on these fixtures (checked in make_fixtures.py), so 1e-4 on
logits of magnitude up to ~8 leaves a wide margin while any structural mistake (a missing bias, wrong
RoPE variant, wrong window or GQA mapping) moves logits by more than 0.05 (the contrasts).

bf16: relative to bf16's spacing EPS = 2^-8 and to the reference's own scale, over valid positions:
    max |diff|   <= BF16_MAX_K  * EPS * max |ref logits|
    mean |diff|  <= BF16_MEAN_K * EPS * rms(ref logits)
    |loss diff|  <= BF16_LOSS_K * EPS * |ref loss|
Measured on llama_bf16 (error in units of EPS*max|ref| / EPS*rms(ref) / EPS*|ref loss|):
    correct implementations:  HF eager vs HF sdpa 3.1 / 2.0 / 0.01;  the same bf16 weights run
        entirely in fp32 3.4 / 2.1 / 0.04;  RMSNorm multiplying the weight before (not after) the
        cast to bf16 4.8 / 2.5 / 0.01.
    bug:  RoPE angles computed in bf16 at positions 1000-1023: 253 / 83 / 5.0.
So the bounds sit 2x or more above legitimate differences and 5x or more below that bug.
A loss computed or rounded in bf16 (spacing 2^-5 near 6) is caught only by chance here; the parity
test instead checks the loss against the fp32 cross-entropy of llmft's own logits to 1e-5.
What bf16 cannot see: reorderings that change one rounding per element (e.g. the RMSNorm cast order
above) are as large as the difference between HF's own two attention kernels, so no tolerance can
separate them; the fp32 cases (1e-4) are what prove the arithmetic, the bf16 cases prove the dtype
handling. make_fixtures.py re-measures these numbers on every run and fails if they stop holding.
"""

FP32_LOGITS_ATOL = 1e-4
FP32_LOSS_ATOL = 1e-5
# sdpa vs eager in fp32 must agree this well, or the reference itself is suspect.
FP32_SELF_CHECK = 1e-5

BF16_EPS = 2.0 ** -8
BF16_MAX_K = 10.0
BF16_MEAN_K = 5.0
BF16_LOSS_K = 0.25


def manifest_entry(dtype):
    if dtype == "float32":
        return {"kind": "absolute", "logits_max_abs": FP32_LOGITS_ATOL, "loss_abs": FP32_LOSS_ATOL}
    return {"kind": "bf16_relative", "eps": BF16_EPS, "logits_max_abs_per_eps_max_ref": BF16_MAX_K,
            "logits_mean_abs_per_eps_rms_ref": BF16_MEAN_K, "loss_abs_per_eps_ref": BF16_LOSS_K}


def bf16_ratios(logits, loss, ref_logits, ref_loss, valid):
    """Each error divided by its allowed bound (<= 1 passes). logits: [B, T, V]; valid: [B, T]."""
    mask = valid.bool()
    diff = (logits - ref_logits).abs()[mask]
    ref = ref_logits[mask]
    return {
        "max": diff.max().item() / (BF16_MAX_K * BF16_EPS * ref.abs().max().item()),
        "mean": diff.mean().item() / (BF16_MEAN_K * BF16_EPS * ref.pow(2).mean().sqrt().item()),
        "loss": abs(loss.item() - ref_loss.item()) / (BF16_LOSS_K * BF16_EPS * abs(ref_loss.item())),
    }


def within_bf16(ratios):
    return all(r <= 1.0 for r in ratios.values())

