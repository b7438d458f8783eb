// `llmft train` end to end through the real binary on the tiny chat fixture (a random-init Llama with
// a trained byte-level BPE tokenizer and chat data, made by scripts/reference/make_fixtures.py).
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "lora/peft_adapter.h"
#include "model/load.h"
#include "recipes/recipe_config.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"
#include "train/checkpoint_store.h"
#include "train/metrics_log.h"

namespace fs = std::filesystem;
using llmft::test::Contains;
using llmft::test::eval_losses;
using llmft::test::run_llmft;
using llmft::test::TempDir;

namespace {

const fs::path kFixture = llmft::test::fixture("tiny_chat");

// A recipe for the tiny fixture: 8 steps of batch 4, LoRA r4 with dropout (exercises RNG replay),
// checkpoints every 3 steps. `extra` lines are appended (later keys of a section must not repeat).
fs::path write_recipe(const fs::path& dir, const std::string& method = "lora", const std::string& train_extra = "") {
  const fs::path path = dir / "recipe.yaml";
  std::ofstream out(path);
  out << "model:\n  path: " << kFixture.string() << "\n  dtype: fp32\n  device: cpu\n"
      << "method: " << method << "\n"
      << "lora:\n  rank: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: all-linear\n"
      << "data:\n  path: " << (kFixture / "train.jsonl").string() << "\n  eval_path: "
      << (kFixture / "eval.jsonl").string() << "\n  format: chat\n  max_seq_len: 64\n"
      << "train:\n  batch_size: 4\n  grad_accum_steps: 2\n  max_steps: 8\n  lr: "
      << (method == "lora" ? "5.0e-3" : "1.0e-3") << "\n  warmup_steps: 2\n  weight_decay: 0.01\n"
      << "  activation_checkpointing: true\n  seed: 7\n"
      << train_extra << "output:\n  dir: " << (dir / "run").string()
      << "\n  save_every_steps: 3\n  keep_last_n: 2\n  log_every_steps: 1\n"
      << "eval:\n  every_steps: 4\n";
  return path;
}

struct StepRow {
  int64_t step;
  double loss, lr, grad_norm;
  bool operator==(const StepRow&) const = default;
};

[[maybe_unused]] std::ostream& operator<<(std::ostream& out, const StepRow& r) {
  return out << "{step " << r.step << ", loss " << r.loss << ", lr " << r.lr << ", grad_norm " << r.grad_norm << "}";
}

std::vector<StepRow> step_rows(const fs::path& metrics) {
  std::vector<StepRow> rows;
  for (const auto& j : llmft::train::read_metrics(metrics)) {
    if (!j.contains("loss")) continue;
    rows.push_back({j["step"].get<int64_t>(), j["loss"].get<double>(), j["lr"].get<double>(),
                    j["grad_norm"].get<double>()});
  }
  return rows;
}

}  // namespace

TEST_CASE("train: a LoRA run writes the PEFT adapter, checkpoints, metrics, run.json and loss.svg",
          "[fixtures][train]") {
  TempDir dir("llmft-train");
  const auto result = run_llmft({"train", write_recipe(dir.path).string()});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const fs::path run = dir.path / "run";
  for (const char* name : {"adapter_model.safetensors", "adapter_config.json", "metrics.jsonl", "run.json", "loss.svg"}) {
    CHECK(fs::exists(run / name));
  }
  // keep_last_n 2 of checkpoints at 3, 6 and the final 8.
  auto checkpoints = llmft::train::complete_checkpoints(run);
  REQUIRE(checkpoints.size() == 2);
  CHECK(checkpoints[0].step == 6);
  CHECK(checkpoints[1].step == 8);
  for (const char* name : {"adapter_model.safetensors", "optimizer.safetensors", "rng_state.safetensors",
                           "trainer_state.json", llmft::train::kCompleteMarker}) {
    CHECK(fs::exists(checkpoints[1].dir / name));
  }
  const auto rows = step_rows(run / "metrics.jsonl");
  REQUIRE(rows.size() == 8);
  CHECK(rows[0].lr == 0.0);  // HF's warmup: the first update uses lr 0
  // Evaluated before training, at step 4 and at the end; training lowers the held-out loss.
  const auto evals = eval_losses(run / "metrics.jsonl");
  REQUIRE(evals.size() == 3);
  CHECK(evals.back() < evals.front());

  nlohmann::json config = nlohmann::json::parse(llmft::test::read_file_bytes(run / "adapter_config.json"));
  CHECK(config["peft_type"] == "LORA");
  CHECK(config["task_type"] == "CAUSAL_LM");
  CHECK(config["r"] == 4);
  CHECK(config["lora_alpha"] == 8);
  auto adapter = llmft::io::SafetensorsFile::open(run / "adapter_model.safetensors");
  CHECK(adapter.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight") != nullptr);
  CHECK(adapter.find("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight") != nullptr);

  nlohmann::json info = nlohmann::json::parse(llmft::test::read_file_bytes(run / "run.json"));
  CHECK(info["recipe"]["train"]["max_steps"] == 8);
  CHECK(info["data"]["train"]["sha256"].get<std::string>().size() == 64);
  CHECK(info["versions"]["libtorch"].is_string());
  CHECK_THAT(llmft::test::read_file_bytes(run / "loss.svg"), Contains("<polyline"));
  CHECK_THAT(result.out, Contains("eval loss"));
}

TEST_CASE("train: resuming after a crash reproduces the straight run bit for bit", "[fixtures][train]") {
  TempDir straight("llmft-straight");
  REQUIRE(run_llmft({"train", write_recipe(straight.path).string()}).exit_code == 0);

  // The crashed run: the same recipe, but everything after checkpoint-3 is lost (as if killed
  // during step 4), including the final adapter; metrics.jsonl holds rows of steps it redid.
  TempDir crashed("llmft-crashed");
  const fs::path recipe = write_recipe(crashed.path, "lora", "");
  REQUIRE(run_llmft({"train", recipe.string(), "output.keep_last_n=0"}).exit_code == 0);
  const fs::path run = crashed.path / "run";
  for (const auto& c : llmft::train::complete_checkpoints(run)) {
    if (c.step > 3) fs::remove_all(c.dir);
  }
  fs::remove(run / "adapter_model.safetensors");
  const auto resumed = run_llmft({"train", recipe.string(), "output.keep_last_n=0", "--resume"});
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("resuming from"));

  CHECK(step_rows(run / "metrics.jsonl") == step_rows(straight.path / "run" / "metrics.jsonl"));
  CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("train: packed and length-grouped runs resume bit for bit; the second run reuses the token cache",
          "[fixtures][train]") {
  const std::vector<std::string> data_keys{"data.packing=true", "data.group_by_length=true", "output.keep_last_n=0"};
  auto train = [&](const fs::path& recipe, bool resume) {
    std::vector<std::string> args{"train", recipe.string()};
    args.insert(args.end(), data_keys.begin(), data_keys.end());
    if (resume) args.push_back("--resume");
    return run_llmft(args);
  };
  TempDir straight("llmft-packed");
  const auto first = train(write_recipe(straight.path), false);
  INFO(describe(first));
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.err, Contains("packing: "));
  CHECK_THAT(first.err, Contains("rows of <= 64 tokens"));
  const auto evals = eval_losses(straight.path / "run" / "metrics.jsonl");
  REQUIRE(evals.size() == 3);
  CHECK(evals.back() < evals.front());

  TempDir crashed("llmft-packed-crashed");
  const fs::path recipe = write_recipe(crashed.path);
  const auto second = train(recipe, false);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.err, Contains("token cache reused"));
  const fs::path run = crashed.path / "run";
  for (const auto& c : llmft::train::complete_checkpoints(run)) {
    if (c.step > 3) fs::remove_all(c.dir);
  }
  fs::remove(run / "adapter_model.safetensors");
  const auto resumed = train(recipe, true);
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(step_rows(run / "metrics.jsonl") == step_rows(straight.path / "run" / "metrics.jsonl"));
  CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("train: SIGINT finishes the step, saves, exits 130, and the resumed run matches", "[fixtures][train]") {
  TempDir straight("llmft-straight");
  REQUIRE(run_llmft({"train", write_recipe(straight.path).string()}).exit_code == 0);

  TempDir stopped("llmft-stopped");
  const fs::path recipe = write_recipe(stopped.path);
  const auto interrupted = llmft::test::run_llmft_and_signal({"train", recipe.string()}, "step 2/8", SIGINT);
  INFO(describe(interrupted));
  REQUIRE(interrupted.exit_code == 130);
  CHECK_THAT(interrupted.err, Contains("--resume"));
  auto latest = llmft::train::latest_checkpoint(stopped.path / "run");
  REQUIRE(latest.has_value());
  CHECK(latest->step >= 2);
  CHECK(latest->step < 8);

  const auto resumed = run_llmft({"train", recipe.string(), "--resume"});
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(step_rows(stopped.path / "run" / "metrics.jsonl") == step_rows(straight.path / "run" / "metrics.jsonl"));
  CHECK(llmft::test::read_file_bytes(stopped.path / "run" / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("train: --dry-run checks everything, estimates memory and trains nothing", "[fixtures][train]") {
  TempDir dir("llmft-dry");
  const auto result = run_llmft({"train", write_recipe(dir.path).string(), "--dry-run"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("trainable of"));
  CHECK_THAT(result.out, Contains("activations, checkpointed"));
  CHECK_THAT(result.out, Contains("peak with checkpointing"));
  CHECK_FALSE(fs::exists(dir.path / "run" / "metrics.jsonl"));
}

TEST_CASE("train: --print-config prints a resolved recipe that reads back the same", "[fixtures][train]") {
  TempDir dir("llmft-print");
  const auto result = run_llmft({"train", write_recipe(dir.path).string(), "train.lr=3e-4", "--print-config"});
  REQUIRE(result.exit_code == 0);
  auto printed = llmft::recipes::parse_recipe(result.out, "printed", {});
  CHECK(printed.train.lr == 3e-4);
  CHECK(printed.lora.rank == 4);
  CHECK(llmft::recipes::recipe_to_yaml(printed) == result.out);
}

TEST_CASE("train: mistakes give one clear line and a non-zero exit", "[fixtures][train]") {
  TempDir dir("llmft-bad");
  const std::string recipe = write_recipe(dir.path).string();
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {{"train", recipe, "train.lrr=1"}, {"train.lrr", "did you mean", "train.lr"}},
      {{"train", recipe, "data.path=/nonexistent/data.jsonl"}, {"data.path", "/nonexistent/data.jsonl"}},
      {{"train", recipe, "lora.target_modules=[nope_proj]"}, {"nope_proj"}},
      {{"train", recipe, "--resume"}, {"--resume", "no complete checkpoint"}},
      {{"train", recipe, "model.path=/nonexistent/model"}, {"/nonexistent/model"}},
      {{"train", recipe, "train.batch_size=1000"}, {"train.batch_size", "no full optimizer step"}},
  };
  for (const auto& c : cases) {
    const auto result = run_llmft(c.args);
    INFO(describe(result));
    CHECK(result.exit_code == 2);
    REQUIRE(result.err_lines().size() >= 1);
    const std::string last = result.err_lines().back();
    for (const auto& e : c.expected) CHECK_THAT(last, Contains(e));
  }
  // A second fresh run into a directory that holds a run is refused rather than overwriting it.
  REQUIRE(run_llmft({"train", recipe, "train.max_steps=3"}).exit_code == 0);
  const auto again = run_llmft({"train", recipe, "train.max_steps=3"});
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Contains("--resume"));
}

namespace {

// llmft's logits and transformers'/PEFT's for the same ids, fp32.
double max_logit_difference(llmft::model::LlamaForCausalLM& model, const std::string& hf_model,
                            const std::string& adapter, const fs::path& scratch) {
  const std::string ids_json = "[[1, 5, 9, 20, 33, 41, 7, 2, 11, 60]]";
  const fs::path out = scratch / "reference_logits.safetensors";
  std::string command = std::string("'") + LLMFT_SOURCE_DIR + "/.venv/bin/python' '" + LLMFT_SOURCE_DIR +
                        "/scripts/reference/trained_output_logits.py' --model '" + hf_model + "' --ids '" + ids_json +
                        "' --out '" + out.string() + "'";
  if (!adapter.empty()) command += " --adapter '" + adapter + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  auto reference = llmft::io::SafetensorsFile::open(out).tensor("logits");
  torch::NoGradGuard no_grad;
  model->eval();
  auto ids = torch::tensor(std::vector<int64_t>{1, 5, 9, 20, 33, 41, 7, 2, 11, 60}).unsqueeze(0);
  auto logits = model->forward({ids}).logits.to(torch::kFloat);
  return (logits - reference).abs().max().item<double>();
}

}  // namespace

TEST_CASE("train: PEFT loads the trained adapter and gives llmft's logits", "[fixtures][train][parity]") {
  // Plain adapters, and adapters with a fully trained lm_head (PEFT's modules_to_save).
  for (const std::string extra : {"lora.use_rslora=false", "lora.modules_to_save=[lm_head]"}) {
    DYNAMIC_SECTION(extra) {
      TempDir dir("llmft-peft-load");
      const auto result = run_llmft({"train", write_recipe(dir.path).string(), "train.max_steps=4", extra});
      INFO(describe(result));
      REQUIRE(result.exit_code == 0);
      auto loaded = llmft::model::load_pretrained(kFixture, torch::kFloat, torch::kCPU);
      llmft::lora::load_peft_adapter(dir.path / "run", *loaded.model);
      const double diff =
          max_logit_difference(loaded.model, kFixture.string(), (dir.path / "run").string(), dir.path);
      INFO("max |logit difference| " << diff);
      CHECK(diff <= 1e-5);  // fp32, the same operations; differences come from matmul blocking only
    }
  }
}

TEST_CASE("train: full fine-tuning writes a model transformers loads with llmft's logits",
          "[fixtures][train][parity]") {
  TempDir dir("llmft-full");
  const auto result = run_llmft({"train", write_recipe(dir.path, "full").string(), "train.max_steps=3"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const fs::path run = dir.path / "run";
  for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json"}) CHECK(fs::exists(run / name));
  auto loaded = llmft::model::load_pretrained(run, torch::kFloat, torch::kCPU);
  const double diff = max_logit_difference(loaded.model, run.string(), "", dir.path);
  INFO("max |logit difference| " << diff);
  CHECK(diff <= 1e-5);
}
