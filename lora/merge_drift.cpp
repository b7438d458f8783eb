#include "lora/merge_drift.h"

#include <torch/torch.h>

#include "lora/adapted_model.h"
#include "model/load.h"

namespace llmft::lora {
namespace {

at::Tensor run(model::LlamaForCausalLM& model, int64_t vocab_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward({drift_sequences(vocab_size)}).logits.to(at::kFloat);
}

}  // namespace

at::Tensor drift_sequences(int64_t vocab_size) {
  // Two rows of 16 ids from a fixed multiplicative walk: covers low and high ids, no randomness.
  constexpr int64_t kRows = 2, kLength = 16;
  std::vector<int64_t> ids;
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t t = 0; t < kLength; ++t) ids.push_back((1 + r * 7919 + t * 104729) % vocab_size);
  return torch::tensor(ids, torch::kInt64).view({kRows, kLength});
}

at::Tensor adapted_logits(const std::filesystem::path& base, const std::filesystem::path& adapter_dir) {
  AdaptedModel adapted = load_adapted_model(base.string(), adapter_dir, at::kFloat, at::kCPU);
  return run(adapted.model, adapted.config.vocab_size);
}

at::Tensor merged_logits(const std::filesystem::path& model_dir) {
  model::LoadedModel merged = model::load_pretrained(model_dir, at::kFloat, at::kCPU);
  return run(merged.model, merged.config.vocab_size);
}

double merge_drift(const std::filesystem::path& base, const std::filesystem::path& adapter_dir,
                   const std::filesystem::path& merged_dir) {
  const at::Tensor reference = adapted_logits(base, adapter_dir);  // its model is freed here
  const at::Tensor merged = merged_logits(merged_dir);
  return (reference - merged).abs().max().item<double>();
}

double default_max_drift(c10::ScalarType dtype) {
  if (dtype == at::kBFloat16) return 1.0;
  if (dtype == at::kHalf) return 0.2;
  return 1e-3;
}

}  // namespace llmft::lora
