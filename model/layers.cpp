#include "model/layers.h"

#include <cmath>
#include <numbers>

#include "model/cpu_gemm.h"
#include "model/swiglu.h"

namespace llmft::model {

// ---- Linear ---------------------------------------------------------------------------------------

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias,
                       const at::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}, options));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}, options));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) { return model::linear(x, weight, bias); }

// ---- Embedding ------------------------------------------------------------------------------------

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t dim, std::optional<int64_t> padding_idx,
                             const at::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({num_embeddings, dim}, options));
  // nn.Embedding's convention: a negative index counts from the end.
  if (padding_idx) padding_idx_ = *padding_idx < 0 ? num_embeddings + *padding_idx : *padding_idx;
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) { return at::embedding(weight, ids, padding_idx_); }

// ---- RMSNorm --------------------------------------------------------------------------------------

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, const at::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}, options));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  const auto input_dtype = x.scalar_type();
  at::Tensor h = x.to(at::kFloat);                           // [..., dim] fp32
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);  // [..., 1]
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(input_dtype);  // the cast happens before the weight multiply, as in HF
}

// ---- Rotary embedding -----------------------------------------------------------------------------
// Python scalar arithmetic on tensors is mirrored op for op: `s / t` is t.reciprocal() * s and
// `s ** t` is pow(s, t), so the fp32 roundings match transformers bit for bit.

at::Tensor rope_inv_freq(const LlamaConfig& config) {
  const int64_t dim = config.head_dim;
  const double base = config.rope_theta;
  const RopeScaling& s = config.rope_scaling;
  // 1.0 / (base ** (arange(0, dim, 2) / dim))                                       [D/2] fp32
  at::Tensor exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / dim;
  at::Tensor inv_freq = at::pow(base, exponent).reciprocal() * 1.0;

  if (s.rope_type == RopeScalingType::Linear) {
    inv_freq.div_(s.factor);  // scaling positions by 1/factor == scaling the frequencies
  } else if (s.rope_type == RopeScalingType::Llama3) {
    // Long wavelengths are divided by `factor`, short ones kept, and the band between is
    // interpolated (Llama 3.1).
    const double old_context_len = static_cast<double>(s.original_max_position_embeddings);
    const double low_freq_wavelen = old_context_len / s.low_freq_factor;
    const double high_freq_wavelen = old_context_len / s.high_freq_factor;
    at::Tensor wavelen = inv_freq.reciprocal() * (2 * std::numbers::pi);
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
    at::Tensor smooth = (wavelen.reciprocal() * s.original_max_position_embeddings - s.low_freq_factor) /
                        (s.high_freq_factor - s.low_freq_factor);
    at::Tensor smoothed = at::rsub(smooth, 1) * scaled / s.factor + smooth * scaled;
    at::Tensor is_medium = (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
    inv_freq = at::where(is_medium, smoothed, scaled);
  }
  return inv_freq;
}

RotaryTables rotary_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids, c10::ScalarType dtype) {
  at::Tensor freq = inv_freq.to(position_ids.device(), at::kFloat);
  at::Tensor angles = position_ids.unsqueeze(-1).to(at::kFloat) * freq;  // [B|1, T, D/2]
  at::Tensor emb = at::cat({angles, angles}, -1);                         // [B|1, T, D]
  // HF multiplies by attention_scaling, which is 1.0 for default/linear/llama3 rope: omitted.
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& rope) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.slice(-1, 0, half);  // [B, heads, T, D/2]
  at::Tensor x2 = x.slice(-1, half);
  at::Tensor rotated = at::cat({-x2, x1}, -1);
  at::Tensor cos = rope.cos.unsqueeze(1);  // [B|1, 1, T, D] broadcasts over heads
  at::Tensor sin = rope.sin.unsqueeze(1);
  return x * cos + rotated * sin;
}

// ---- MLP ------------------------------------------------------------------------------------------

MLPImpl::MLPImpl(const LlamaConfig& c, const at::TensorOptions& options) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, options));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, options));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, c.mlp_bias, options));
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
  return down_proj->forward(swiglu(gate_proj->forward(x), up_proj->forward(x)));  // silu(gate) * up
}

// ---- Attention ------------------------------------------------------------------------------------

AttentionImpl::AttentionImpl(const LlamaConfig& c, const at::TensorOptions& options)
    : num_heads_(c.num_attention_heads),
      num_kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim),
      dropout_(c.attention_dropout) {
  const int64_t q_dim = c.num_attention_heads * c.head_dim;
  const int64_t kv_dim = c.num_key_value_heads * c.head_dim;
  q_proj = register_module("q_proj", Linear(c.hidden_size, q_dim, c.qkv_bias(), options));
  k_proj = register_module("k_proj", Linear(c.hidden_size, kv_dim, c.qkv_bias(), options));
  v_proj = register_module("v_proj", Linear(c.hidden_size, kv_dim, c.qkv_bias(), options));
  o_proj = register_module("o_proj", Linear(q_dim, c.hidden_size, c.o_bias(), options));
}

namespace {
// [B, KV, T, D] -> [B, KV*groups, T, D], each kv head repeated for its group of query heads.
at::Tensor repeat_kv(const at::Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const int64_t b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, groups, t, d}).reshape({b, kv * groups, t, d});
}
}  // namespace

AttentionImpl::Projected AttentionImpl::project(const at::Tensor& x, const RotaryTables& rope) {
  const int64_t B = x.size(0), T = x.size(1);
  at::Tensor q = q_proj->forward(x).view({B, T, -1, head_dim_}).transpose(1, 2);  // [B, H, T, D]
  at::Tensor k = k_proj->forward(x).view({B, T, -1, head_dim_}).transpose(1, 2);  // [B, KV, T, D]
  at::Tensor v = v_proj->forward(x).view({B, T, -1, head_dim_}).transpose(1, 2);  // [B, KV, T, D]
  return {apply_rotary(q, rope), apply_rotary(k, rope), std::move(v)};
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask) {
  Projected p = project(x, rope);
  return attend(std::move(p.q), std::move(p.k), std::move(p.v), mask);
}

at::Tensor AttentionImpl::forward_cached(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask,
                                         KVCache& cache, int64_t layer) {
  Projected p = project(x, rope);
  auto [keys, values] = cache.append(layer, p.k, p.v);  // [B, KV, past + T, D]
  return attend(std::move(p.q), std::move(keys), std::move(values), mask);
}

at::Tensor AttentionImpl::attend(at::Tensor q, at::Tensor k, at::Tensor v, const at::Tensor& mask) {
  const int64_t B = q.size(0), T = q.size(2);
  // Like transformers' sdpa path: SDPA's native GQA when there is no mask, explicit repeats otherwise.
  const int64_t groups = num_heads_ / num_kv_heads_;
  bool enable_gqa = false;
  if (groups > 1) {
    if (!mask.defined() && head_dim_ <= 256) {
      enable_gqa = true;
    } else {
      k = repeat_kv(k, groups);  // [B, H, S, D]
      v = repeat_kv(v, groups);
    }
  }
  const bool is_causal = !mask.defined() && T > 1;
  const double dropout = is_training() ? dropout_ : 0.0;
  std::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
  at::Tensor y = at::scaled_dot_product_attention(q, k, v, attn_mask, dropout, is_causal,
                                                  std::pow(static_cast<double>(head_dim_), -0.5), enable_gqa);
  y = y.transpose(1, 2).contiguous().reshape({B, T, -1});  // [B, T, H*D]
  return o_proj->forward(y);                                // [B, T, C]
}

}  // namespace llmft::model
