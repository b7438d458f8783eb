"""The tiny checkpoints the parity tests load: numbers only.

Each case names a transformers config class and its keyword arguments, the dtype the checkpoint is
saved (and run) in, the batch, and contrasts: variants of the same weights with one feature turned
off, which must move the reference logits by more than MIN_CONTRAST, so that a loader ignoring
that feature cannot pass the parity test by accident.

Batch rows: `rows` gives each row's number of real tokens (T = seq_len); rows listed in
`left_padded` are left-padded (with position ids counting real tokens only), the others
right-padded. `position_offset` shifts every position id by a constant (as after a long prompt).
"""

from transformers import LlamaConfig, MistralConfig, Qwen2Config

# Shared shapes: hidden 64 with 4 heads (head_dim 16), intermediate 160 (not a multiple of hidden,
# so a transposed MLP weight fails on shape), vocab 256.
BASE = dict(vocab_size=256, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
            max_position_embeddings=2048, bos_token_id=1, eos_token_id=2)

# A contrast must change some valid logit by at least this much (the fp32 tolerance is 1e-4).
MIN_CONTRAST = 0.05


def _cfg(**overrides):
    return {**BASE, **overrides}


CASES = [
    dict(name="llama_gqa", config=LlamaConfig, kwargs=_cfg(),
         dtype="float32", shards=1, seq_len=24, rows=(24, 17, 13), left_padded={2},
         # The same fp32 weights loaded as bf16 (conversion at load) get a second reference.
         bf16_at_load=True,
         # Swapping query heads 1 and 2 (q_proj rows, o_proj columns) is what a kv-head mapping of
         # h % kv_heads instead of h // (heads / kv_heads) computes.
         contrasts=[("kv heads tiled, not grouped", dict(swap_q_heads=(1, 2)))]),
    dict(name="llama3_rope_tied",
         config=LlamaConfig,
         # original_max_position_embeddings 16 < T = 24: positions run past the original context,
         # and with head_dim 16 every frequency but the fastest is divided by `factor` (the
         # fastest, wavelength 2*pi, lies between the high- and low-frequency wavelengths 4 and 16
         # and is smoothed), so every branch of the llama3 formula is used.
         kwargs=_cfg(num_key_value_heads=4, tie_word_embeddings=True, max_position_embeddings=64,
                     rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                       high_freq_factor=4.0, original_max_position_embeddings=16),
                     rope_theta=10000.0),
         dtype="float32", shards=1, seq_len=24, rows=(24, 24), left_padded=set(),
         contrasts=[("default rope", dict(config={"rope_parameters": {"rope_type": "default",
                                                                       "rope_theta": 10000.0}})),
                    ("linear rope, same factor", dict(config={"rope_parameters": {
                        "rope_type": "linear", "factor": 8.0, "rope_theta": 10000.0}}))]),
    dict(name="llama_linear_rope", config=LlamaConfig,
         kwargs=_cfg(num_hidden_layers=3, num_key_value_heads=1, attention_bias=True, mlp_bias=True,
                     rope_scaling=dict(rope_type="linear", factor=2.0), rope_theta=500.0),
         dtype="float32", shards=1, seq_len=24, rows=(24, 17), left_padded=set(),
         contrasts=[("default rope", dict(config={"rope_parameters": {"rope_type": "default",
                                                                       "rope_theta": 500.0}})),
                    ("no o_proj bias", dict(zero=("self_attn.o_proj.bias",))),
                    ("no down_proj bias", dict(zero=("mlp.down_proj.bias",)))]),
    dict(name="mistral", config=MistralConfig,
         # head_dim 24 != hidden / heads = 16: q_proj is [96, 64], o_proj [64, 96].
         # HF's window: query i sees keys j with i - sliding_window < j <= i (8 keys, itself
         # included); T = 24 = 3 windows.
         kwargs=_cfg(head_dim=24, sliding_window=8),
         dtype="float32", shards=1, seq_len=24, rows=(24, 19), left_padded=set(),
         contrasts=[("no sliding window", dict(config={"sliding_window": None})),
                    ("window one key wider", dict(config={"sliding_window": 9}))]),
    dict(name="qwen2_bias", config=Qwen2Config,
         kwargs=_cfg(rope_theta=1000000.0),
         dtype="float32", shards=1, seq_len=24, rows=(24, 20), left_padded=set(),
         contrasts=[("no q_proj bias", dict(zero=("self_attn.q_proj.bias",))),
                    ("no v_proj bias", dict(zero=("self_attn.v_proj.bias",)))]),
    dict(name="llama_two_shard", config=LlamaConfig, kwargs=_cfg(),
         dtype="float32", shards=2, seq_len=24, rows=(24, 24), left_padded=set(), contrasts=[]),
    dict(name="llama_bf16", config=LlamaConfig, kwargs=_cfg(),
         # Positions 1000..1023: RoPE angles computed in bf16 instead of fp32 go visibly wrong here
         # (bf16 spacing at 1000 is 4), which the bf16 tolerance must catch.
         dtype="bfloat16", shards=1, seq_len=24, rows=(24, 18), left_padded=set(),
         position_offset=1000, contrasts=[]),
]
