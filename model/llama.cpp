#include "model/llama.h"

#include <typeinfo>

#include "io/error.h"
#include "io/shape_text.h"
#include "model/activation_checkpoint.h"
#include "model/attention_mask.h"
#include "model/cpu_gemm.h"

namespace llmft::model {
namespace {

constexpr int64_t kIgnoreIndex = -100;

// Rejects inputs whose shapes do not fit input_ids [B, T], naming the tensor.
void check_args(const ForwardArgs& args) {
  const at::Tensor& ids = args.input_ids;
  if (!ids.defined() || ids.dim() != 2 || ids.size(1) == 0)
    throw Error("forward: input_ids must be [batch, seq_len] with seq_len > 0, got " +
                (ids.defined() ? io::shape_text(ids.sizes()) : std::string("nothing")));
  if (at::isFloatingType(ids.scalar_type()) || ids.scalar_type() == at::kBool)
    throw Error("forward: input_ids must hold integer token ids");
  const int64_t B = ids.size(0), T = ids.size(1);
  auto same_as_ids = [&](const std::optional<at::Tensor>& t, const char* name) {
    if (t && (t->dim() != 2 || t->size(0) != B || t->size(1) != T))
      throw Error(std::string("forward: ") + name + " must be " + io::shape_text(ids.sizes()) + " like input_ids, got " +
                  io::shape_text(t->sizes()));
  };
  same_as_ids(args.attention_mask, "attention_mask");
  same_as_ids(args.labels, "labels");
  if (args.position_ids) {
    const at::Tensor& p = *args.position_ids;
    if (p.dim() != 2 || (p.size(0) != B && p.size(0) != 1) || p.size(1) != T)
      throw Error("forward: position_ids must be [" + std::to_string(B) + " or 1, " + std::to_string(T) +
                  "], got " + io::shape_text(p.sizes()));
  }
}

}  // namespace

// ---- DecoderLayer ---------------------------------------------------------------------------------

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& c, const at::TensorOptions& options) {
  self_attn = register_module("self_attn", Attention(c, options));
  mlp = register_module("mlp", MLP(c, options));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask) {
  at::Tensor h = x + self_attn->forward(input_layernorm->forward(x), rope, mask);  // [B, T, C]
  return h + mlp->forward(post_attention_layernorm->forward(h));                    // [B, T, C]
}

at::Tensor DecoderLayerImpl::forward_cached(const at::Tensor& x, const RotaryTables& rope, const at::Tensor& mask,
                                            KVCache& cache, int64_t layer) {
  at::Tensor h = x + self_attn->forward_cached(input_layernorm->forward(x), rope, mask, cache, layer);  // [B, T, C]
  return h + mlp->forward(post_attention_layernorm->forward(h));                                        // [B, T, C]
}

// ---- LlamaModel -----------------------------------------------------------------------------------

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c, const at::TensorOptions& options) : config_(c) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, c.pad_token_id, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c, options));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, options));
  inv_freq_ = rope_inv_freq(c).to(options.device());
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& input_ids, const std::optional<at::Tensor>& attention_mask,
                                   const at::Tensor& position_ids, bool position_ids_given) {
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  at::Tensor x = embed_tokens->forward(input_ids);  // [B, T, C]
  const RotaryTables rope = rotary_tables(inv_freq_, position_ids, x.scalar_type());  // [B|1, T, D]

  // One mask per distinct window: full-attention layers and (Mistral, Qwen2) sliding ones.
  std::optional<at::Tensor> given_positions;
  if (position_ids_given) given_positions = position_ids;
  const at::Tensor full_mask = build_attention_mask(attention_mask, given_positions, B, T, std::nullopt, x.device());
  at::Tensor sliding_mask;
  bool sliding_built = false;
  const bool checkpoint = activation_checkpointing_ && is_training() && at::GradMode::is_enabled();

  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::optional<int64_t> window = config_.layer_sliding_window(i);
    if (window && !sliding_built) {
      sliding_mask = build_attention_mask(attention_mask, given_positions, B, T, window, x.device());
      sliding_built = true;
    }
    const at::Tensor& mask = window ? sliding_mask : full_mask;
    // [B, T, C]
    x = checkpoint ? checkpointed_layer_forward(layer(i), x, rope, mask) : layer(i).forward(x, rope, mask);
  }
  return norm->forward(x);  // [B, T, C]
}

at::Tensor LlamaModelImpl::forward_cached(const at::Tensor& input_ids, KVCache& cache) {
  const int64_t T = input_ids.size(1), past = cache.length();
  at::Tensor x = embed_tokens->forward(input_ids);  // [B, T, C]
  const at::Tensor position_ids =
      at::arange(past, past + T, at::TensorOptions().dtype(at::kLong).device(x.device())).unsqueeze(0);  // [1, T]
  const RotaryTables rope = rotary_tables(inv_freq_, position_ids, x.scalar_type());                  // [1, T, D]

  const at::Tensor full_mask = cached_attention_mask(past, T, std::nullopt, x.device());
  at::Tensor sliding_mask;
  bool sliding_built = false;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::optional<int64_t> window = config_.layer_sliding_window(i);
    if (window && !sliding_built) {
      sliding_mask = cached_attention_mask(past, T, window, x.device());
      sliding_built = true;
    }
    x = layer(i).forward_cached(x, rope, window ? sliding_mask : full_mask, cache, i);  // [B, T, C]
  }
  cache.advance(T);
  return norm->forward(x);  // [B, T, C]
}

// ---- LlamaForCausalLM -----------------------------------------------------------------------------

LlamaForCausalLMImpl::LlamaForCausalLMImpl(LlamaConfig config, c10::ScalarType dtype, c10::Device device)
    : config_(std::move(config)), options_(at::TensorOptions().dtype(dtype).device(device)) {
  model = register_module("model", LlamaModel(config_, options_));
  if (!config_.tie_word_embeddings)
    lm_head = register_module("lm_head", Linear(config_.hidden_size, config_.vocab_size, false, options_));
}

void LlamaForCausalLMImpl::untie_output_head() {
  if (!config_.tie_word_embeddings) return;
  const at::Tensor& embedding = model->embed_tokens->weight;
  lm_head = register_module("lm_head", Linear(config_.hidden_size, config_.vocab_size, false,
                                              at::TensorOptions().dtype(embedding.dtype()).device(embedding.device())));
  {
    torch::NoGradGuard no_grad;
    lm_head->weight.copy_(embedding);
  }
  lm_head->weight.set_requires_grad(embedding.requires_grad());
  lm_head->train(is_training());
  config_.tie_word_embeddings = false;
}

const at::Tensor& LlamaForCausalLMImpl::output_weight() const {
  return config_.tie_word_embeddings ? model->embed_tokens->weight : lm_head->weight;
}

at::Tensor LlamaForCausalLMImpl::hidden_states(const ForwardArgs& args) {
  check_args(args);
  const c10::Device device = options_.device();
  const at::Tensor input_ids = args.input_ids.to(device, at::kLong);  // [B, T]
  const int64_t T = input_ids.size(1);

  std::optional<at::Tensor> attention_mask;
  if (args.attention_mask) attention_mask = args.attention_mask->to(device);
  const at::Tensor position_ids = args.position_ids
                                      ? args.position_ids->to(device, at::kLong)
                                      : at::arange(T, options_.dtype(at::kLong)).unsqueeze(0);  // [1, T]
  return model->forward(input_ids, attention_mask, position_ids, args.position_ids.has_value());  // [B, T, C]
}

bool LlamaForCausalLMImpl::output_head_is_plain() const {
  if (config_.tie_word_embeddings) return true;
  const LinearImpl& head = *lm_head;  // a LoRA subclass when lm_head carries an adapter
  return typeid(head) == typeid(LinearImpl);
}

CausalLMOutput LlamaForCausalLMImpl::forward(const ForwardArgs& args) {
  const at::Tensor h = hidden_states(args);
  CausalLMOutput out;
  out.logits = config_.tie_word_embeddings ? model::linear(h, output_weight()) : lm_head->forward(h);  // [B, T, V]
  if (args.labels) out.loss = causal_lm_loss(out.logits, args.labels->to(options_.device(), at::kLong));
  return out;
}

at::Tensor LlamaForCausalLMImpl::forward_cached(const at::Tensor& input_ids, KVCache& cache, bool last_only) {
  if (!input_ids.defined() || input_ids.dim() != 2 || input_ids.size(1) == 0 || input_ids.size(0) != cache.batch())
    throw Error("forward_cached: input_ids must be [" + std::to_string(cache.batch()) + ", T] with T > 0, got " +
                (input_ids.defined() ? io::shape_text(input_ids.sizes()) : std::string("nothing")));
  at::Tensor h = model->forward_cached(input_ids.to(options_.device(), at::kLong), cache);  // [B, T, C]
  if (last_only) h = h.slice(1, h.size(1) - 1);                                             // [B, 1, C]
  return config_.tie_word_embeddings ? model::linear(h, output_weight()) : lm_head->forward(h);  // [B, T|1, V]
}

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t V = logits.size(-1);
  at::Tensor logits32 = logits.to(at::kFloat);                                          // [B, T, V]
  at::Tensor padded = at::constant_pad_nd(labels, {0, 1}, kIgnoreIndex);                // [B, T+1]
  at::Tensor shifted = padded.slice(-1, 1).contiguous();                                 // [B, T]: next token
  return at::cross_entropy_loss(logits32.reshape({-1, V}), shifted.view(-1), {}, at::Reduction::Mean, kIgnoreIndex);
}

}  // namespace llmft::model
