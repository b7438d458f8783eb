// `llmft merge`'s parts on tiny random models: the plan (what each tensor becomes, and which
// adapters are refused), the streamed weights (layout kept shard for shard) and the drift check.
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/error.h"
#include "io/hf_checkpoint.h"
#include "lora/inject.h"
#include "lora/lora_linear.h"
#include "lora/merge_drift.h"
#include "lora/merge_output.h"
#include "lora/merge_plan.h"
#include "lora/merge_weights.h"
#include "lora/peft_adapter.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace llmft;
using llmft::test::Contains;
using llmft::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A tiny random model saved as an HF directory (sharded when max_shard is small).
void save_base(const fs::path& dir, const model::LlamaConfig& config, uint64_t max_shard = 1 << 30) {
  model::LlamaForCausalLM m(config);
  testing::randomize(*m, 3);
  std::vector<io::NamedTensor> tensors;
  for (const auto& p : m->named_parameters()) tensors.push_back({p.key(), p.value().detach()});
  io::write_hf_checkpoint(dir, tensors, max_shard);
  std::ofstream(dir / "config.json") << model::to_hf_config_json(config).dump(2);
}

// An adapter for the model at `base` with non-zero B (and perturbed saved modules) so it matters.
void save_adapter(const fs::path& dir, const fs::path& base, std::vector<std::string> targets,
                  std::vector<std::string> modules_to_save = {}) {
  auto loaded = model::load_pretrained(base, at::kFloat, at::kCPU);
  lora::LoraOptions options;
  options.rank = 4;
  options.alpha = 8;
  options.target_modules = std::move(targets);
  options.modules_to_save = std::move(modules_to_save);
  lora::inject_lora(*loaded.model, options);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  torch::NoGradGuard no_grad;
  for (auto& w : lora::lora_modules(*loaded.model)) {
    auto& b = w.module->lora_B->weight;
    b.copy_(at::normal(0.0, 0.2, b.sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
  }
  for (auto& saved : lora::saved_modules(*loaded.model, options))
    for (auto& p : saved.module->named_parameters(false))
      p.value().add_(at::normal(0.0, 0.5, p.value().sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
  lora::save_peft_adapter(dir, *loaded.model, options, base.string());
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("merge: a sharded base keeps its shard files and the merged logits equal base + adapter", "[lora][merge]") {
  TempDir tmp("llmft-merge");
  const auto config = testing::tiny_config();
  save_base(tmp.path / "base", config, 20000);  // several shards
  save_adapter(tmp.path / "adapter", tmp.path / "base", {"all-linear"});

  const auto plan = lora::plan_merge(tmp.path / "base", tmp.path / "adapter");
  CHECK(plan.lora_modules == 2 * 7);
  CHECK_FALSE(plan.untie_head);
  fs::create_directories(tmp.path / "out");
  const auto report = lora::write_merged_weights(plan, tmp.path / "out", at::kFloat, 1 << 30);
  std::ofstream(tmp.path / "out" / "config.json") << model::to_hf_config_json(plan.config).dump(2);

  std::set<std::string> base_files = files_in(tmp.path / "base");
  base_files.erase("config.json");
  std::set<std::string> out_files = files_in(tmp.path / "out");
  out_files.erase("config.json");
  CHECK(base_files.size() > 2);
  CHECK(out_files == base_files);
  CHECK(report.shard_files.size() + 1 == base_files.size());  // + the index
  const auto in = io::HfCheckpoint::open(tmp.path / "base");
  const auto out = io::HfCheckpoint::open(tmp.path / "out");
  for (const auto& name : in.names()) CHECK(in.shard_of(name).filename() == out.shard_of(name).filename());
  // Untargeted tensors are copied bit for bit; targets changed.
  CHECK(at::equal(in.tensor("model.norm.weight"), out.tensor("model.norm.weight")));
  CHECK_FALSE(at::equal(in.tensor("model.layers.0.mlp.down_proj.weight"), out.tensor("model.layers.0.mlp.down_proj.weight")));

  const double drift = lora::merge_drift(tmp.path / "base", tmp.path / "adapter", tmp.path / "out");
  INFO("fp32 drift " << drift);
  CHECK(drift <= 1e-5);
  CHECK(drift <= lora::default_max_drift(at::kFloat));
}

TEST_CASE("merge: a saved lm_head on a tied model is untied and written", "[lora][merge]") {
  TempDir tmp("llmft-merge-tied");
  auto config = testing::tiny_config();
  config.tie_word_embeddings = true;
  save_base(tmp.path / "base", config);
  save_adapter(tmp.path / "adapter", tmp.path / "base", {"q_proj", "v_proj"}, {"lm_head"});

  const auto plan = lora::plan_merge(tmp.path / "base", tmp.path / "adapter");
  CHECK(plan.untie_head);
  CHECK_FALSE(plan.config.tie_word_embeddings);
  fs::create_directories(tmp.path / "out");
  lora::write_merged_weights(plan, tmp.path / "out", at::kFloat, 1 << 30);
  std::ofstream(tmp.path / "out" / "config.json") << model::to_hf_config_json(plan.config).dump(2);
  const auto out = io::HfCheckpoint::open(tmp.path / "out");
  REQUIRE(out.contains("lm_head.weight"));
  CHECK_FALSE(at::equal(out.tensor("lm_head.weight"), out.tensor("model.embed_tokens.weight")));

  const double drift = lora::merge_drift(tmp.path / "base", tmp.path / "adapter", tmp.path / "out");
  INFO("fp32 drift " << drift);
  CHECK(drift <= 1e-4);  // a perturbed head gives larger logits than the base's
}

TEST_CASE("merge: bf16 output drifts by one rounding, within the bf16 default", "[lora][merge]") {
  TempDir tmp("llmft-merge-bf16");
  const auto config = testing::tiny_config();
  save_base(tmp.path / "base", config);
  save_adapter(tmp.path / "adapter", tmp.path / "base", {"all-linear"});
  const auto plan = lora::plan_merge(tmp.path / "base", tmp.path / "adapter");
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    const fs::path out = tmp.path / (dtype == at::kHalf ? "fp16" : "bf16");
    fs::create_directories(out);
    lora::write_merged_weights(plan, out, dtype, 1 << 30);
    std::ofstream(out / "config.json") << model::to_hf_config_json(plan.config).dump(2);
    CHECK(io::HfCheckpoint::open(out).info("model.layers.0.self_attn.q_proj.weight").dtype ==
          io::from_scalar_type(dtype).value());
    const double drift = lora::merge_drift(tmp.path / "base", tmp.path / "adapter", out);
    INFO(out.filename().string() << " drift " << drift);
    CHECK(drift > 0);
    CHECK(drift <= lora::default_max_drift(dtype));
  }
}

TEST_CASE("merge: an adapter for another model is refused naming the tensor", "[lora][merge]") {
  TempDir tmp("llmft-merge-bad");
  const auto config = testing::tiny_config();
  save_base(tmp.path / "base", config);
  auto other = config;
  other.intermediate_size = 40;
  save_base(tmp.path / "other", other);
  save_adapter(tmp.path / "adapter", tmp.path / "other", {"all-linear"});
  REQUIRE_THROWS_WITH(lora::plan_merge(tmp.path / "base", tmp.path / "adapter"),
                      Contains("mlp.") && Contains("lora_") && Contains("has shape"));

  // A target the base does not have.
  save_adapter(tmp.path / "adapter2", tmp.path / "base", {"q_proj"});
  nlohmann::json c = nlohmann::json::parse(std::ifstream(tmp.path / "adapter2" / lora::kAdapterConfigFile));
  c["target_modules"] = {"q_proj", "qkv_proj"};
  std::ofstream(tmp.path / "adapter2" / lora::kAdapterConfigFile) << c.dump(2);
  REQUIRE_THROWS_WITH(lora::plan_merge(tmp.path / "base", tmp.path / "adapter2"), Contains("qkv_proj"));

  // Adapter tensors for modules the config does not target.
  c["target_modules"] = {"v_proj"};
  std::ofstream(tmp.path / "adapter2" / lora::kAdapterConfigFile) << c.dump(2);
  REQUIRE_THROWS_WITH(lora::plan_merge(tmp.path / "base", tmp.path / "adapter2"),
                      Contains("v_proj.lora_A.weight") || Contains("q_proj.lora_A.weight"));
}

TEST_CASE("merge: output directory lifecycle", "[lora][merge]") {
  TempDir tmp("llmft-merge-out");
  const fs::path out = tmp.path / "merged";
  lora::check_output_target(out, false);  // absent: fine
  fs::create_directories(out);
  lora::check_output_target(out, false);  // empty: fine
  std::ofstream(out / "keep.txt") << "x";
  REQUIRE_THROWS_WITH(lora::check_output_target(out, false), Contains("--force"));
  lora::check_output_target(out, true);

  CHECK(lora::partial_dir(out) == tmp.path / "merged.partial");
  const fs::path partial = lora::begin_output(out);
  std::ofstream(partial / "model.safetensors") << "y";
  lora::publish_output(out);
  CHECK(fs::exists(out / "model.safetensors"));
  CHECK_FALSE(fs::exists(out / "keep.txt"));
  CHECK_FALSE(fs::exists(partial));

  lora::begin_output(out);
  CHECK(lora::reject_output(out) == tmp.path / "merged.rejected");
  CHECK(fs::exists(tmp.path / "merged.rejected"));
  CHECK(lora::peak_rss_bytes() > 0);
}
