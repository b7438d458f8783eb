#include "tests/support/tiny_llama.h"

#include <torch/torch.h>

namespace llmft::testing {

model::LlamaConfig tiny_config(model::Architecture arch) {
  model::LlamaConfig c;
  c.architecture = arch;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 128;
  return c;
}

void randomize(model::LlamaForCausalLMImpl& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : model.named_parameters()) {
    at::Tensor& p = item.value();
    const bool is_norm = item.key().find("norm") != std::string::npos;
    const double std = is_norm ? 0.1 : (item.key().find("embed") != std::string::npos ? 1.0 : 0.2);
    at::Tensor values = at::normal(0.0, std, p.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    if (is_norm) values += 1.0;
    p.copy_(values);
  }
}

}  // namespace llmft::testing
