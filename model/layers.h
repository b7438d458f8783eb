#pragma once
// The building blocks of a Llama-family decoder, each numerically equal to its transformers
// counterpart (modeling_llama.py): Linear, Embedding, RMSNorm, rotary embedding, SwiGLU MLP and
// grouped-query attention. Parameter members are named as in HF so registered names equal its keys.
// Shapes: B batch, T sequence, C hidden_size, H attention heads, KV key/value heads, D head_dim.
#include <torch/torch.h>

#include "model/config.h"
#include "model/kv_cache.h"

namespace llmft::model {

// y = x W^T + b. Parameters are allocated uninitialised (torch::empty): a checkpoint or an
// initialiser fills them, so building even a large model costs no compute.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options);
  // Virtual so an adapter-carrying subclass (LoRA) can stand in for it under the same name.
  virtual at::Tensor forward(const at::Tensor& x);  // [..., in] -> [..., out]

  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out], undefined when the layer has none
};
TORCH_MODULE(Linear);

class EmbeddingImpl : public torch::nn::Module {
 public:
  // padding_idx: HF's pad_token_id (negative counts from the end); its row gets no gradient.
  EmbeddingImpl(int64_t num_embeddings, int64_t dim, std::optional<int64_t> padding_idx,
                const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& ids);  // [B, T] int -> [B, T, dim]

  at::Tensor weight;  // [num_embeddings, dim]

 private:
  int64_t padding_idx_ = -1;  // at::embedding's "none"
};
TORCH_MODULE(Embedding);

// HF's LlamaRMSNorm: normalise in fp32, cast back to the input dtype, then scale by the weight.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, const at::TensorOptions& options);  // weight starts at ones
  at::Tensor forward(const at::Tensor& x);  // [..., dim] -> [..., dim]

  at::Tensor weight;  // [dim]
  double eps;
};
TORCH_MODULE(RMSNorm);

// Rotary inverse frequencies [D/2] in fp32 for the config's rope type (default, linear, llama3),
// computed with the same operations, in the same order, as modeling_rope_utils.
at::Tensor rope_inv_freq(const LlamaConfig& config);

struct RotaryTables {
  at::Tensor cos;  // [B or 1, T, D], activation dtype
  at::Tensor sin;  // [B or 1, T, D]
};
// position_ids [B or 1, T]; inv_freq [D/2] fp32. Angles and cos/sin are computed in fp32 and only
// then cast to `dtype`, as HF does.
RotaryTables rotary_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids, c10::ScalarType dtype);

// x [B, heads, T, D] -> x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1) on D halves.
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& rope);

// down(silu(gate(x)) * up(x)).
class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(const LlamaConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);  // [B, T, C] -> [B, T, C]

  Linear gate_proj{nullptr};  // C -> intermediate
  Linear up_proj{nullptr};    // C -> intermediate
  Linear down_proj{nullptr};  // intermediate -> C
};
TORCH_MODULE(MLP);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const LlamaConfig& config, const at::TensorOptions& options);
  // mask: [B, 1, T, T] bool (true = may attend) from build_attention_mask, or undefined for plain
  // causal attention (SDPA's is_causal fast path).
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask);  // [B,T,C] -> [B,T,C]
  // Incremental decoding: x [B, T, C] are the tokens after the cache.length() cached ones (rope at
  // their positions); their keys/values go into the cache's `layer` slot and the queries attend to
  // everything cached. mask: from cached_attention_mask. -> [B, T, C]
  at::Tensor forward_cached(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask, KVCache& cache,
                            int64_t layer);

  Linear q_proj{nullptr};  // C -> H*D
  Linear k_proj{nullptr};  // C -> KV*D
  Linear v_proj{nullptr};  // C -> KV*D
  Linear o_proj{nullptr};  // H*D -> C

 private:
  // q [B, H, T, D], k/v [B, KV, S, D] (S >= T) -> o_proj(attention) [B, T, C].
  struct Projected {
    at::Tensor q;  // [B, H, T, D], rotated
    at::Tensor k;  // [B, KV, T, D], rotated
    at::Tensor v;  // [B, KV, T, D]
  };
  // The q/k/v projections of x with RoPE applied, shared by forward and forward_cached.
  Projected project(const at::Tensor& x, const RotaryTables& rope);
  at::Tensor attend(at::Tensor q, at::Tensor k, at::Tensor v, const at::Tensor& mask);

  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  double dropout_;
};
TORCH_MODULE(Attention);

}  // namespace llmft::model
