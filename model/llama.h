#pragma once
// The Llama-family decoder (Llama, Mistral, Qwen2) as transformers' LlamaForCausalLM computes it.
// Module names equal the HF state-dict keys: model.embed_tokens, model.layers.N.{self_attn,mlp,
// input_layernorm,post_attention_layernorm}, model.norm, lm_head.
// Shapes: B batch, T sequence, C hidden_size, V vocab_size.
#include <optional>

#include <torch/torch.h>

#include "model/config.h"
#include "model/kv_cache.h"
#include "model/layers.h"

namespace llmft::model {

// Defaulted members let callers write {ids}, {ids, mask}, ... under -Wextra.
struct ForwardArgs {
  at::Tensor input_ids;                                     // [B, T] int64
  std::optional<at::Tensor> attention_mask = std::nullopt;  // [B, T], 1 = token, 0 = padding
  std::optional<at::Tensor> position_ids = std::nullopt;    // [B, T] or [1, T]; default arange(T)
  std::optional<at::Tensor> labels = std::nullopt;          // [B, T] ids, -100 = ignored; unshifted, as in HF
};

struct CausalLMOutput {
  at::Tensor logits;  // [B, T, V] in the model dtype
  at::Tensor loss;    // fp32 scalar when labels were given, else undefined
};

// Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const LlamaConfig& config, const at::TensorOptions& options);
  // mask: this layer's [B, 1, T, T] bool mask, or undefined for plain causal attention.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask);  // [B,T,C]
  // The same block reading and extending the KV cache's `layer` slot (AttentionImpl::forward_cached).
  at::Tensor forward_cached(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask, KVCache& cache,
                            int64_t layer);  // [B,T,C]

  Attention self_attn{nullptr};
  MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr};
  RMSNorm post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

class LlamaModelImpl : public torch::nn::Module {
 public:
  LlamaModelImpl(const LlamaConfig& config, const at::TensorOptions& options);
  // Tensors already on the model's device; position_ids defaulted by the caller. -> [B, T, C] after
  // the final norm.
  at::Tensor forward(const at::Tensor& input_ids, const std::optional<at::Tensor>& attention_mask,
                     const at::Tensor& position_ids, bool position_ids_given);
  // Incremental decoding: input_ids [B, T] are the tokens after the cache.length() cached ones, at
  // positions cache.length() + [0, T). Extends the cache by T. -> [B, T, C] after the final norm.
  at::Tensor forward_cached(const at::Tensor& input_ids, KVCache& cache);

  DecoderLayerImpl& layer(int64_t index) { return *layers->ptr<DecoderLayerImpl>(index); }

  // Recompute each decoder layer's activations in backward instead of keeping them
  // (model/activation_checkpoint.h). Takes effect only in training mode with grad enabled; results
  // and gradients are unchanged.
  void set_activation_checkpointing(bool enabled) { activation_checkpointing_ = enabled; }
  bool activation_checkpointing() const { return activation_checkpointing_; }

  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};  // DecoderLayer each
  RMSNorm norm{nullptr};

 private:
  LlamaConfig config_;
  bool activation_checkpointing_ = false;
  // [D/2] fp32. A plain member, not a buffer: HF keeps it fp32 whatever the model dtype.
  at::Tensor inv_freq_;
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  // Parameters are allocated (uninitialised, norms at one) directly in `dtype` on `device`.
  LlamaForCausalLMImpl(LlamaConfig config, c10::ScalarType dtype = at::kFloat, c10::Device device = at::kCPU);
  CausalLMOutput forward(const ForwardArgs& args);
  // The final norm's output for `args` (labels ignored): [B, T, C]. forward() projects it to logits.
  at::Tensor hidden_states(const ForwardArgs& args);
  // True when the output projection is a plain matrix (tied, or an lm_head without an adapter), so
  // a caller may apply output_weight() itself, e.g. fused with the loss (model/linear_cross_entropy.h).
  bool output_head_is_plain() const;
  // Generation step with a KV cache (no padding, no labels): input_ids [B, T] continue the cached
  // sequence; the cache grows by T. -> logits [B, T, V], or [B, 1, V] for the last token only when
  // last_only (a prefill then skips the output projection for every other prompt token).
  at::Tensor forward_cached(const at::Tensor& input_ids, KVCache& cache, bool last_only = false);
  // A cache sized for this model, in its dtype and on its device.
  KVCache make_cache(int64_t batch, int64_t max_len) const { return KVCache(config_, batch, max_len, options_); }
  const LlamaConfig& config() const { return config_; }
  void set_activation_checkpointing(bool enabled) { model->set_activation_checkpointing(enabled); }
  // The output projection [V, C]: the embedding's weight when tie_word_embeddings.
  const at::Tensor& output_weight() const;
  // Gives lm_head its own copy of the embedding weight and clears tie_word_embeddings, so the head
  // can be trained (or saved) on its own; a no-op when not tied.
  void untie_output_head();

  LlamaModel model{nullptr};
  Linear lm_head{nullptr};  // null when tied: the embedding weight is the only copy

 private:
  LlamaConfig config_;
  at::TensorOptions options_;
};
TORCH_MODULE(LlamaForCausalLM);

// transformers' ForCausalLMLoss: logits upcast to fp32; labels shifted left (the last position
// predicts nothing); mean cross entropy over labels != -100.
// logits [B, T, V], labels [B, T] -> fp32 scalar.
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace llmft::model
