#pragma once
// The tensors a Llama-family checkpoint must (or may) hold, with their shapes, in HF key names.
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace llmft::model {

struct ExpectedTensor {
  std::string name;            // "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // e.g. {num_attention_heads * head_dim, hidden_size}
  bool optional = false;       // lm_head.weight when embeddings are tied
};

std::vector<ExpectedTensor> expected_tensors(const LlamaConfig& config);

}  // namespace llmft::model
