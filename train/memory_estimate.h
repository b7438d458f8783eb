#pragma once
// A before-the-run estimate of peak training memory, for `llmft train --dry-run`: how big the
// weights, gradients, optimizer state and activations will be, with and without activation
// checkpointing. An estimate from shapes (documented in docs/recipes.md), not a measurement.
#include <cstdint>

#include "model/config.h"

namespace llmft::train {

struct MemoryEstimateInput {
  model::LlamaConfig config;
  int64_t total_params = 0;
  int64_t trainable_params = 0;
  int64_t weight_bytes = 0;      // bytes per base weight element (2 for bf16, 4 for fp32)
  int64_t trainable_bytes = 0;   // bytes per trainable element (4 for fp32 adapters)
  bool master_weights = false;   // fp32 master copies kept by the optimizer
  bool lora = true;
  int64_t lora_rank = 0;
  int64_t batch_size = 1;
  int64_t seq_len = 1;
  bool fused_attention = false;  // flash / memory-efficient SDPA (CUDA): no T x T scores kept
  // Budget of one chunk of fp32 logits in the fused output projection + loss
  // (model/linear_cross_entropy.h): 64 MiB on the CPU, 1 GiB on a GPU.
  int64_t loss_chunk_bytes = int64_t(64) << 20;
  // Data parallelism: the estimate is per process. zero_stage 1 divides the optimizer state by
  // `ranks`, 2 also the gradients; the gradient buckets in flight are added (recipes/gradient_sync.h).
  int64_t ranks = 1;
  int64_t zero_stage = 0;
};

struct MemoryEstimate {
  uint64_t weights = 0;
  uint64_t gradients = 0;
  uint64_t optimizer = 0;              // exp_avg + exp_avg_sq (+ master) in fp32
  uint64_t activations_full = 0;       // every layer's saved tensors
  uint64_t activations_checkpointed = 0;  // layer inputs + one layer recomputed
  uint64_t logits = 0;                 // one chunk of fp32 logits + its gradient, the hidden-state gradient
  uint64_t total(bool checkpointing) const {
    return weights + gradients + optimizer + logits + (checkpointing ? activations_checkpointed : activations_full);
  }
};

MemoryEstimate estimate_training_memory(const MemoryEstimateInput& input);

}  // namespace llmft::train
