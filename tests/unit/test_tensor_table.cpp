// The tensor table: HF key names, shapes, biases per architecture, the optional tied lm_head.
#include <map>

#include "model/tensor_table.h"
#include "tests/support/catch.h"
#include "tests/support/tiny_llama.h"

using namespace llmft::model;
using Shape = std::vector<int64_t>;

namespace {
std::map<std::string, ExpectedTensor> by_name(const LlamaConfig& c) {
  std::map<std::string, ExpectedTensor> out;
  for (const auto& t : expected_tensors(c)) out[t.name] = t;
  return out;
}
}  // namespace

TEST_CASE("Llama table: names and shapes in HF keys", "[model][tensor_table]") {
  const LlamaConfig c = llmft::testing::tiny_config();  // hidden 32, 4 heads x 8, 2 kv heads, inter 48
  const auto table = expected_tensors(c);
  REQUIRE(table.size() == 1 + 2 * 9 + 2);
  CHECK(table.front().name == "model.embed_tokens.weight");
  CHECK(table.back().name == "lm_head.weight");
  CHECK_FALSE(table.back().optional);

  const auto t = by_name(c);
  CHECK(t.at("model.embed_tokens.weight").shape == Shape{64, 32});
  CHECK(t.at("model.layers.1.self_attn.q_proj.weight").shape == Shape{32, 32});
  CHECK(t.at("model.layers.1.self_attn.k_proj.weight").shape == Shape{16, 32});
  CHECK(t.at("model.layers.1.self_attn.v_proj.weight").shape == Shape{16, 32});
  CHECK(t.at("model.layers.1.self_attn.o_proj.weight").shape == Shape{32, 32});
  CHECK(t.at("model.layers.0.mlp.gate_proj.weight").shape == Shape{48, 32});
  CHECK(t.at("model.layers.0.mlp.up_proj.weight").shape == Shape{48, 32});
  CHECK(t.at("model.layers.0.mlp.down_proj.weight").shape == Shape{32, 48});
  CHECK(t.at("model.layers.0.input_layernorm.weight").shape == Shape{32});
  CHECK(t.at("model.layers.0.post_attention_layernorm.weight").shape == Shape{32});
  CHECK(t.at("model.norm.weight").shape == Shape{32});
  CHECK(t.at("lm_head.weight").shape == Shape{64, 32});
  for (const auto& [name, _] : t) CHECK(name.find(".bias") == std::string::npos);

  // 2*64*32 (embed, lm_head) + 2 layers * (32*32*2 + 16*32*2 + 3*48*32 + 2*32) + 32
  CHECK(c.num_parameters() == 2 * 64 * 32 + 2 * (2048 + 1024 + 4608 + 64) + 32);
}

TEST_CASE("head_dim independent of hidden_size shapes q/k/v/o", "[model][tensor_table]") {
  LlamaConfig c = llmft::testing::tiny_config(Architecture::Mistral);
  c.head_dim = 24;  // 4 heads x 24 = 96 != hidden 32
  const auto t = by_name(c);
  CHECK(t.at("model.layers.0.self_attn.q_proj.weight").shape == Shape{96, 32});
  CHECK(t.at("model.layers.0.self_attn.k_proj.weight").shape == Shape{48, 32});
  CHECK(t.at("model.layers.0.self_attn.o_proj.weight").shape == Shape{32, 96});
}

TEST_CASE("tied embeddings make lm_head optional and count once", "[model][tensor_table]") {
  LlamaConfig c = llmft::testing::tiny_config();
  const int64_t untied = c.num_parameters();
  c.tie_word_embeddings = true;
  const auto t = by_name(c);
  REQUIRE(t.count("lm_head.weight") == 1);
  CHECK(t.at("lm_head.weight").optional);
  CHECK(c.num_parameters() == untied - 64 * 32);
  for (const auto& [name, tensor] : t)
    if (name != "lm_head.weight") CHECK_FALSE(tensor.optional);
}

TEST_CASE("biases: Qwen2 q/k/v only; Llama attention_bias and mlp_bias", "[model][tensor_table]") {
  const auto qwen = by_name(llmft::testing::tiny_config(Architecture::Qwen2));
  CHECK(qwen.at("model.layers.0.self_attn.q_proj.bias").shape == Shape{32});
  CHECK(qwen.at("model.layers.0.self_attn.k_proj.bias").shape == Shape{16});
  CHECK(qwen.at("model.layers.0.self_attn.v_proj.bias").shape == Shape{16});
  CHECK(qwen.count("model.layers.0.self_attn.o_proj.bias") == 0);
  CHECK(qwen.count("model.layers.0.mlp.gate_proj.bias") == 0);

  LlamaConfig llama = llmft::testing::tiny_config();
  llama.attention_bias = true;
  auto t = by_name(llama);
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
    CHECK(t.count(std::string("model.layers.1.self_attn.") + p + ".bias") == 1);
  CHECK(t.at("model.layers.1.self_attn.o_proj.bias").shape == Shape{32});
  CHECK(t.count("model.layers.1.mlp.up_proj.bias") == 0);

  llama.attention_bias = false;
  llama.mlp_bias = true;
  t = by_name(llama);
  CHECK(t.at("model.layers.1.mlp.gate_proj.bias").shape == Shape{48});
  CHECK(t.at("model.layers.1.mlp.up_proj.bias").shape == Shape{48});
  CHECK(t.at("model.layers.1.mlp.down_proj.bias").shape == Shape{32});
  CHECK(t.count("model.layers.1.self_attn.q_proj.bias") == 0);
}
