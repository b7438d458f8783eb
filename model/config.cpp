#include "model/config.h"

#include "io/error.h"
#include "model/tensor_table.h"

namespace llmft::model {

std::string architecture_name(Architecture arch) {
  switch (arch) {
    case Architecture::Llama:
      return "LlamaForCausalLM";
    case Architecture::Mistral:
      return "MistralForCausalLM";
    case Architecture::Qwen2:
      return "Qwen2ForCausalLM";
  }
  return "unknown";
}

std::optional<int64_t> LlamaConfig::layer_sliding_window(int64_t layer) const {
  if (!sliding_window) return std::nullopt;
  if (layer_types.empty()) return sliding_window;
  if (layer >= 0 && layer < static_cast<int64_t>(layer_types.size()) &&
      layer_types[static_cast<std::size_t>(layer)] == kSlidingAttention)
    return sliding_window;
  return std::nullopt;
}

int64_t LlamaConfig::num_parameters() const {
  int64_t total = 0;
  for (const ExpectedTensor& t : expected_tensors(*this)) {
    if (t.optional) continue;  // a tied lm_head shares the embedding's storage
    int64_t n = 1;
    bool overflow = false;
    for (int64_t d : t.shape) overflow |= __builtin_mul_overflow(n, d, &n);
    overflow |= __builtin_add_overflow(total, n, &total);
    if (overflow) throw Error("config: the parameter count overflows 64 bits at tensor " + t.name);
  }
  return total;
}

}  // namespace llmft::model
