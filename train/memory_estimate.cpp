#include "train/memory_estimate.h"

#include <algorithm>

namespace llmft::train {

MemoryEstimate estimate_training_memory(const MemoryEstimateInput& in) {
  const auto& c = in.config;
  const int64_t C = c.hidden_size, I = c.intermediate_size, H = c.num_attention_heads;
  const int64_t D = c.head_dim > 0 ? c.head_dim : C / H;
  const int64_t KV = c.num_key_value_heads * D;
  const int64_t tokens = in.batch_size * in.seq_len;
  const int64_t act = in.weight_bytes;

  MemoryEstimate e;
  e.weights = uint64_t(in.total_params - (in.lora ? in.trainable_params : 0)) * act +
              uint64_t(in.lora ? in.trainable_params * in.trainable_bytes : 0);
  if (!in.lora) e.weights = uint64_t(in.total_params) * act;
  e.gradients = uint64_t(in.trainable_params) * (in.lora ? in.trainable_bytes : act);
  e.optimizer = uint64_t(in.trainable_params) * (8 + (in.master_weights ? 4 : 0));
  if (in.ranks > 1) {
    const uint64_t ranks = uint64_t(in.ranks);
    const uint64_t all_gradients = e.gradients;
    if (in.zero_stage >= 1) e.optimizer = (e.optimizer + ranks - 1) / ranks;
    if (in.zero_stage >= 2) e.gradients = (all_gradients + ranks - 1) / ranks;
    // Flat copies of up to three buckets (two in flight and one being filled): 25 MiB each without
    // sharding, a quarter of a rank's share with it.
    const uint64_t bucket = std::min<uint64_t>(uint64_t(25) << 20,
                                               in.zero_stage >= 1 ? all_gradients / (4 * ranks) : all_gradients);
    e.gradients += 3 * bucket;
  }

  // Tensors autograd keeps per token in one decoder layer (activation dtype unless noted):
  //   two norm inputs, normed inputs and fp32 statistics   2C + 2C + 2C*4/act
  //   q, k, v and their rotated copies, attention output    2C + 4KV + C
  //   MLP input, gate, up, product (silu recomputed)       C + 3I
  //   LoRA: fp32 copies of each adapted input + A outputs   (6C + I)*4/act + 7r*4/act
  int64_t per_token = 4 * C + 2 * C * 4 / act + 3 * C + 4 * KV + C + 3 * I;
  if (in.lora) per_token += (6 * C + I) * 4 / act + 7 * in.lora_rank * 4 / act;
  uint64_t per_layer = uint64_t(per_token) * tokens * act;
  // The math attention path keeps the softmax scores [B, H, T, T]; fused kernels keep O(T) stats.
  if (!in.fused_attention) per_layer += uint64_t(in.batch_size) * H * in.seq_len * in.seq_len * act;
  e.activations_full = per_layer * uint64_t(c.num_hidden_layers);
  e.activations_checkpointed = uint64_t(tokens) * C * act * uint64_t(c.num_hidden_layers) + per_layer;
  // The fused projection + loss holds one chunk of fp32 logits (turned into their gradient in place,
  // plus a cast to the weight dtype below fp32) and the [tokens, C] gradient of the hidden states.
  const uint64_t all_logits = uint64_t(tokens) * c.vocab_size * 4;
  const uint64_t chunk = std::min<uint64_t>(all_logits, uint64_t(std::max<int64_t>(in.loss_chunk_bytes, 1)));
  e.logits = chunk + (act < 4 ? chunk * act / 4 : 0) + uint64_t(tokens) * C * act;
  return e;
}

}  // namespace llmft::train
