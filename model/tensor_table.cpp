#include "model/tensor_table.h"

namespace llmft::model {

// Order follows the module tree (and so named_parameters()): embedding, then per layer
// self_attn (q, k, v, o), mlp (gate, up, down), the two norms; final norm; lm_head.
std::vector<ExpectedTensor> expected_tensors(const LlamaConfig& config) {
  const int64_t hidden = config.hidden_size;
  const int64_t q_dim = config.num_attention_heads * config.head_dim;
  const int64_t kv_dim = config.num_key_value_heads * config.head_dim;
  const int64_t inter = config.intermediate_size;

  std::vector<ExpectedTensor> out;
  auto add = [&out](std::string name, std::vector<int64_t> shape, bool optional = false) {
    out.push_back({std::move(name), std::move(shape), optional});
  };
  // A Linear(in -> out) is weight [out, in] plus, optionally, bias [out].
  auto add_linear = [&add](const std::string& prefix, int64_t in, int64_t out_features, bool bias) {
    add(prefix + ".weight", {out_features, in});
    if (bias) add(prefix + ".bias", {out_features});
  };

  add("model.embed_tokens.weight", {config.vocab_size, hidden});
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i);
    add_linear(layer + ".self_attn.q_proj", hidden, q_dim, config.qkv_bias());
    add_linear(layer + ".self_attn.k_proj", hidden, kv_dim, config.qkv_bias());
    add_linear(layer + ".self_attn.v_proj", hidden, kv_dim, config.qkv_bias());
    add_linear(layer + ".self_attn.o_proj", q_dim, hidden, config.o_bias());
    add_linear(layer + ".mlp.gate_proj", hidden, inter, config.mlp_bias);
    add_linear(layer + ".mlp.up_proj", hidden, inter, config.mlp_bias);
    add_linear(layer + ".mlp.down_proj", inter, hidden, config.mlp_bias);
    add(layer + ".input_layernorm.weight", {hidden});
    add(layer + ".post_attention_layernorm.weight", {hidden});
  }
  add("model.norm.weight", {hidden});
  // Tied checkpoints usually omit lm_head; when present it is ignored in favour of the embedding.
  add("lm_head.weight", {config.vocab_size, hidden}, config.tie_word_embeddings);
  return out;
}

}  // namespace llmft::model
