// Checkpoint -> model: every mismatch reported at once, weights copied exactly, config.json found.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/error.h"
#include "io/hf_checkpoint.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace llmft;
using namespace llmft::model;
using llmft::test::Contains;

namespace {

std::vector<io::NamedTensor> state_of(LlamaForCausalLMImpl& model) {
  std::vector<io::NamedTensor> out;
  for (const auto& item : model.named_parameters()) out.push_back({item.key(), item.value().detach()});
  return out;
}

// A tiny random model saved as an HF directory (config.json + weights, sharded when max_shard is small).
LlamaForCausalLM save_random(const std::filesystem::path& dir, const LlamaConfig& config,
                             uint64_t max_shard = 1 << 30) {
  LlamaForCausalLM model(config);
  testing::randomize(*model, 3);
  io::write_hf_checkpoint(dir, state_of(*model), max_shard);
  std::ofstream(dir / "config.json") << to_hf_config_json(config).dump(2);
  return model;
}

}  // namespace

TEST_CASE("load_pretrained: directory, sharded, single file, dtype conversion", "[model][load]") {
  llmft::test::TempDir tmp("llmft_test_model_load");
  LlamaConfig config = testing::tiny_config(Architecture::Qwen2);
  config.tie_word_embeddings = true;
  LlamaForCausalLM saved = save_random(tmp.path, config, /*max_shard=*/8000);  // several shards
  REQUIRE(std::filesystem::exists(tmp.path / "model.safetensors.index.json"));

  LoadedModel fp32 = load_pretrained(tmp.path, at::kFloat, at::kCPU);
  CHECK(fp32.config.architecture == Architecture::Qwen2);
  const auto want = saved->named_parameters();
  for (const auto& item : fp32.model->named_parameters()) {
    INFO(item.key());
    CHECK(torch::equal(item.value(), want[item.key()]));
  }
  CHECK(fp32.model->output_weight().data_ptr() == fp32.model->model->embed_tokens->weight.data_ptr());

  LoadedModel bf16 = load_pretrained(tmp.path, at::kBFloat16, at::kCPU);
  for (const auto& item : bf16.model->named_parameters()) {
    INFO(item.key());
    CHECK(item.value().scalar_type() == at::kBFloat16);
    CHECK(torch::equal(item.value(), want[item.key()].to(at::kBFloat16)));
  }

  // The same logits as the model that was saved.
  const at::Tensor ids = torch::tensor({{1, 5, 9, 2}}, torch::kLong);
  torch::NoGradGuard no_grad;
  saved->eval();
  CHECK(torch::allclose(fp32.model->forward({ids}).logits, saved->forward({ids}).logits));

  SECTION("a single .safetensors file reads config.json beside it") {
    llmft::test::TempDir single("llmft_test_model_load_single");
    save_random(single.path, config);
    const auto file = single.path / "model.safetensors";
    REQUIRE(std::filesystem::exists(file));
    CHECK(load_pretrained(file, at::kFloat, at::kCPU).config == config);
  }
}

TEST_CASE("load_pretrained without config.json names it", "[model][load]") {
  llmft::test::TempDir tmp("llmft_test_model_load_noconfig");
  save_random(tmp.path, testing::tiny_config());
  std::filesystem::remove(tmp.path / "config.json");
  CHECK_THROWS_WITH(load_pretrained(tmp.path, at::kFloat, at::kCPU),
                    Contains((tmp.path / "config.json").string()));
}

TEST_CASE("check_checkpoint lists every missing, unexpected and misshapen tensor", "[model][load]") {
  llmft::test::TempDir tmp("llmft_test_model_load_bad");
  const LlamaConfig config = testing::tiny_config();
  LlamaForCausalLM model(config);
  testing::randomize(*model, 3);
  std::vector<io::NamedTensor> tensors;
  for (auto& t : state_of(*model)) {
    if (t.name == "model.layers.1.mlp.up_proj.weight") continue;                          // missing
    if (t.name == "model.norm.weight") t.tensor = torch::ones({31});                     // wrong shape
    if (t.name == "model.layers.0.input_layernorm.weight") t.tensor = t.tensor.to(at::kInt);  // wrong dtype
    tensors.push_back(t);
  }
  tensors.push_back({"model.layers.2.self_attn.q_proj.weight", torch::zeros({32, 32})});  // unexpected
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", torch::zeros({4})});  // derived: ignored
  io::write_hf_checkpoint(tmp.path, tensors, 1 << 30);
  const auto checkpoint = io::HfCheckpoint::open(tmp.path);

  const std::vector<std::string> problems = check_checkpoint(config, checkpoint);
  INFO([&] {
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    return all;
  }());
  REQUIRE(problems.size() == 4);
  auto mentions = [&problems](const std::string& a, const std::string& b) {
    for (const auto& p : problems)
      if (p.find(a) != std::string::npos && p.find(b) != std::string::npos) return true;
    return false;
  };
  CHECK(mentions("missing", "model.layers.1.mlp.up_proj.weight"));
  CHECK(mentions("unexpected", "model.layers.2.self_attn.q_proj.weight"));
  CHECK(mentions("model.norm.weight", "[31]"));
  CHECK(mentions("model.norm.weight", "model.safetensors"));  // the shard file
  CHECK(mentions("model.layers.0.input_layernorm.weight", "I32"));

  // load_weights throws once, with all of them.
  LlamaForCausalLM target(config);
  try {
    load_weights(*target, checkpoint);
    FAIL("load_weights accepted a mismatched checkpoint");
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& p : problems) CHECK_THAT(message, Contains(p));
    CHECK_THAT(message, Contains(tmp.path.string()));
  }
  CHECK(check_checkpoint(config, io::HfCheckpoint::open(tmp.path)).size() == 4);
}

TEST_CASE("an untied checkpoint needs lm_head; a tied one may carry it", "[model][load]") {
  llmft::test::TempDir tmp("llmft_test_model_load_head");
  LlamaConfig config = testing::tiny_config();
  save_random(tmp.path, config);  // untied: has lm_head.weight
  const auto checkpoint = io::HfCheckpoint::open(tmp.path);
  CHECK(check_checkpoint(config, checkpoint).empty());
  config.tie_word_embeddings = true;
  CHECK(check_checkpoint(config, checkpoint).empty());  // extra lm_head is tolerated, then ignored
  LlamaForCausalLM tied(config);
  load_weights(*tied, checkpoint);
  CHECK(torch::equal(tied->output_weight(), checkpoint.tensor("model.embed_tokens.weight")));
}
