// `llmft merge` end to end through the real binary: transformers loads the merged directory and its
// logits equal PEFT's base + adapter (scripts/reference/merge_reference.py), layouts are kept,
// mismatched adapters and occupied outputs are refused, and a merge beyond --max-drift is set aside.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/hf_checkpoint.h"
#include "io/model_locator.h"
#include "lora/inject.h"
#include "lora/lora_linear.h"
#include "lora/peft_adapter.h"
#include "model/load.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using llmft::test::CliResult;
using llmft::test::Contains;
using llmft::test::run_llmft;
using llmft::test::TempDir;

namespace {

const fs::path kFixtures = fs::path(LLMFT_FIXTURE_DIR);

// A LoRA adapter for the model at `base` (any path load_pretrained takes) with non-zero B, and
// perturbed copies of the modules_to_save, so that merging changes the logits.
void make_adapter(const fs::path& base, const fs::path& dir, std::vector<std::string> targets,
                  std::vector<std::string> modules_to_save = {}) {
  auto loaded = llmft::model::load_pretrained(base, torch::kFloat, torch::kCPU);
  llmft::lora::LoraOptions options;
  options.rank = 4;
  options.alpha = 8;
  options.target_modules = std::move(targets);
  options.modules_to_save = std::move(modules_to_save);
  llmft::lora::inject_lora(*loaded.model, options);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  torch::NoGradGuard no_grad;
  for (auto& w : llmft::lora::lora_modules(*loaded.model)) {
    auto& b = w.module->lora_B->weight;
    b.copy_(at::normal(0.0, 0.2, b.sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
  }
  for (auto& saved : llmft::lora::saved_modules(*loaded.model, options))
    for (auto& p : saved.module->named_parameters(false))
      p.value().add_(at::normal(0.0, 0.5, p.value().sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
  llmft::lora::save_peft_adapter(dir, *loaded.model, options, base.string());
}

// transformers(merged) against PEFT(base + adapter), fp32, on ids inside every fixture's vocabulary.
nlohmann::json reference(const fs::path& base, const fs::path& adapter, const fs::path& merged, const fs::path& scratch) {
  const fs::path out = scratch / "merge_reference.json";
  const std::string command = std::string("'") + LLMFT_SOURCE_DIR + "/.venv/bin/python' '" + LLMFT_SOURCE_DIR +
                              "/scripts/reference/merge_reference.py' --base '" + base.string() + "' --adapter '" +
                              adapter.string() + "' --merged '" + merged.string() +
                              "' --ids '[[1, 5, 9, 20, 33, 41, 7, 2, 11, 60, 128, 200], [3, 250, 17, 90, 4, 4, 61, 0, "
                              "99, 180, 77, 12]]' --out '" + out.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  return nlohmann::json::parse(llmft::test::read_file_bytes(out));
}

std::set<std::string> weight_files(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("model") && (name.ends_with(".safetensors") || name.ends_with(".index.json"))) out.insert(name);
  }
  return out;
}

CliResult merge(const fs::path& base, const fs::path& adapter, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"merge", "--base", base.string(), "--adapter", adapter.string(), "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_llmft(args);
}

}  // namespace

TEST_CASE("merge: transformers loads the merged HF model with PEFT's base + adapter logits", "[fixtures][merge]") {
  for (const std::string name : {"llama_gqa", "llama_two_shard"}) {
    DYNAMIC_SECTION(name) {
      TempDir dir("llmft-merge-cli");
      const fs::path base = kFixtures / name;
      make_adapter(base, dir.path / "adapter", {"all-linear"});
      const fs::path out = dir.path / "merged";
      const auto result = merge(base, dir.path / "adapter", out);
      INFO(describe(result));
      REQUIRE(result.exit_code == 0);
      CHECK_THAT(result.out, Contains("drift: max |logit difference|"));
      CHECK_THAT(result.out, Contains("peak memory:"));
      CHECK(weight_files(out) == weight_files(base));  // same shard names (and index) as the base
      for (const char* file : {"config.json", "generation_config.json"}) CHECK(fs::exists(out / file));
      CHECK_FALSE(fs::exists(dir.path / "merged.partial"));
      const auto base_ckpt = llmft::io::HfCheckpoint::open(base);
      const auto out_ckpt = llmft::io::HfCheckpoint::open(out);
      CHECK(out_ckpt.names() == base_ckpt.names());
      for (const auto& n : base_ckpt.names()) {
        CHECK(out_ckpt.shard_of(n).filename() == base_ckpt.shard_of(n).filename());
        CHECK(out_ckpt.info(n).dtype == llmft::io::DType::F32);  // the base's dtype by default
      }

      const auto ref = reference(base, dir.path / "adapter", out, dir.path);
      INFO("transformers(merged) vs PEFT(base + adapter): " << ref.dump());
      CHECK(ref["max_abs_diff"].get<double>() <= 1e-4);
    }
  }
}

TEST_CASE("merge: a trained adapter with modules_to_save=[lm_head] (tiny_chat)", "[fixtures][merge]") {
  TempDir dir("llmft-merge-chat");
  const fs::path base = kFixtures / "tiny_chat";
  const fs::path recipe = dir.path / "recipe.yaml";
  std::ofstream(recipe) << "model:\n  path: " << base.string() << "\n  dtype: fp32\n  device: cpu\nmethod: lora\n"
                        << "lora:\n  rank: 4\n  alpha: 8\n  target_modules: all-linear\n  modules_to_save: [lm_head]\n"
                        << "data:\n  path: " << (base / "train.jsonl").string() << "\n  format: chat\n  max_seq_len: 64\n"
                        << "train:\n  batch_size: 4\n  max_steps: 4\n  lr: 5.0e-3\n  seed: 7\n"
                        << "output:\n  dir: " << (dir.path / "run").string() << "\n";
  const auto trained = run_llmft({"train", recipe.string()});
  INFO(describe(trained));
  REQUIRE(trained.exit_code == 0);

  const fs::path out = dir.path / "merged";
  const auto result = merge(base, dir.path / "run", out);
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("saved tensors"));
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"})
    CHECK(fs::exists(out / file));
  const auto ref = reference(base, dir.path / "run", out, dir.path);
  INFO(ref.dump());
  CHECK(ref["max_abs_diff"].get<double>() <= 1e-4);
}

TEST_CASE("merge: a saved lm_head unties a tied base (llama3_rope_tied)", "[fixtures][merge]") {
  TempDir dir("llmft-merge-tied");
  const fs::path base = kFixtures / "llama3_rope_tied";
  make_adapter(base, dir.path / "adapter", {"q_proj", "v_proj"}, {"lm_head"});
  const fs::path out = dir.path / "merged";
  const auto result = merge(base, dir.path / "adapter", out);
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("lm_head untied"));
  const auto config = nlohmann::json::parse(llmft::test::read_file_bytes(out / "config.json"));
  CHECK(config["tie_word_embeddings"] == false);
  CHECK(llmft::io::HfCheckpoint::open(out).contains("lm_head.weight"));
  const auto ref = reference(base, dir.path / "adapter", out, dir.path);
  INFO(ref.dump());
  CHECK(ref["tie_word_embeddings"] == false);
  CHECK(ref["max_abs_diff"].get<double>() <= 1e-4);
}

TEST_CASE("merge: an adapter for another base is refused before anything is written", "[fixtures][merge]") {
  TempDir dir("llmft-merge-mismatch");
  make_adapter(kFixtures / "llama_gqa", dir.path / "adapter", {"all-linear"});
  // tiny_chat: intermediate 128, not 160 (MLP shapes); llama3_rope_tied: 4 KV heads, not 2 (k/v shapes).
  for (const std::string name : {"tiny_chat", "llama3_rope_tied"}) {
    DYNAMIC_SECTION(name) {
      const fs::path out = dir.path / ("merged_" + name);
      const auto result = merge(kFixtures / name, dir.path / "adapter", out);
      INFO(describe(result));
      CHECK(result.exit_code == 2);
      REQUIRE(result.err_lines().size() == 1);
      CHECK_THAT(result.err_lines()[0], Contains("adapter_model.safetensors"));
      CHECK_THAT(result.err_lines()[0], Contains(".lora_"));
      CHECK_THAT(result.err_lines()[0], Contains("has shape"));
      CHECK_FALSE(fs::exists(out));
      CHECK_FALSE(fs::exists(dir.path / ("merged_" + name + ".partial")));
    }
  }
}

TEST_CASE("merge: a non-empty --out is refused unless --force; beyond --max-drift is set aside", "[fixtures][merge]") {
  TempDir dir("llmft-merge-out");
  const fs::path base = kFixtures / "llama_gqa";
  make_adapter(base, dir.path / "adapter", {"q_proj", "v_proj"});
  const fs::path out = dir.path / "merged";
  fs::create_directories(out);
  std::ofstream(out / "notes.txt") << "mine";
  const auto refused = merge(base, dir.path / "adapter", out);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("--force"));
  CHECK(fs::exists(out / "notes.txt"));

  const auto forced = merge(base, dir.path / "adapter", out, {"--force", "--dtype", "bf16"});
  INFO(describe(forced));
  REQUIRE(forced.exit_code == 0);
  CHECK_FALSE(fs::exists(out / "notes.txt"));
  const auto config = nlohmann::json::parse(llmft::test::read_file_bytes(out / "config.json"));
  CHECK((config.value("torch_dtype", "") == "bfloat16" || config.value("dtype", "") == "bfloat16"));

  const fs::path strict = dir.path / "strict";
  const auto rejected = merge(base, dir.path / "adapter", strict, {"--dtype", "bf16", "--max-drift", "1e-9"});
  INFO(describe(rejected));
  CHECK(rejected.exit_code == 2);
  CHECK_THAT(rejected.err, Contains("exceeds --max-drift"));
  CHECK_THAT(rejected.err, Contains("strict.rejected"));
  CHECK_THAT(rejected.out, Contains("drift: max |logit difference|"));
  CHECK_FALSE(fs::exists(strict));
  CHECK(fs::exists(dir.path / "strict.rejected" / "model.safetensors"));
}

TEST_CASE("merge: a GGUF base (the bundled SmolLM2) merges into bf16 within the default drift",
          "[fixtures][merge][smollm2]") {
  const auto gguf = llmft::io::find_default_model();
  if (!gguf) {
    WARN("SmolLM2 GGUF not installed; skipped");
    return;
  }
  TempDir dir("llmft-merge-gguf");
  make_adapter(*gguf, dir.path / "adapter", {"q_proj", "v_proj"});
  const fs::path out = dir.path / "merged";
  const auto result = merge("smollm2-135m", dir.path / "adapter", out);
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  CHECK(weight_files(out) == std::set<std::string>{"model.safetensors"});
  for (const char* file : {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    CHECK(fs::exists(out / file));
  CHECK(llmft::io::HfCheckpoint::open(out).info("model.layers.0.self_attn.q_proj.weight").dtype ==
        llmft::io::DType::BF16);
  WARN(result.out);  // the drift and peak memory, for docs/merge.md
}
