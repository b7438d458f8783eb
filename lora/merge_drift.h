#pragma once
// How far a merged model is from what it replaces: the largest |logit difference| between
// base + adapter (lora::load_adapted_model, adapters unmerged) and the merged directory
// (model::load_pretrained), both run in fp32 on the CPU over a few fixed token sequences. The two
// models are loaded one after the other, so peak memory is one fp32 model, not two.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

namespace llmft::lora {

// Fixed, deterministic ids [2, 16] spread over the vocabulary (the same for every run).
at::Tensor drift_sequences(int64_t vocab_size);

// fp32 logits [2, 16, V] of base + adapter for drift_sequences().
at::Tensor adapted_logits(const std::filesystem::path& base, const std::filesystem::path& adapter_dir);

// fp32 logits [2, 16, V] of the model at `model_dir` for drift_sequences().
at::Tensor merged_logits(const std::filesystem::path& model_dir);

// max |adapted - merged| over every position and vocabulary entry.
double merge_drift(const std::filesystem::path& base, const std::filesystem::path& adapter_dir,
                   const std::filesystem::path& merged_dir);

// The default --max-drift for an output dtype: 1e-3 for fp32 (the merge itself differs from the
// unmerged computation only by fp32 rounding, about 1e-6), 1.0 for bf16 and 0.2 for fp16
// (one rounding of every weight; see docs/merge.md for the measurements behind them).
double default_max_drift(c10::ScalarType dtype);

}  // namespace llmft::lora
