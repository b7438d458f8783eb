// The files a training run keeps: sealed checkpoints, metrics.jsonl, loss.svg; the step plan and the
// dry-run memory estimate; the shipped recipes.
#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "recipes/recipe_config.h"
#include "recipes/train_setup.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"
#include "train/checkpoint_store.h"
#include "train/loss_plot.h"
#include "train/memory_estimate.h"
#include "train/metrics_log.h"
#include "train/progress.h"

namespace fs = std::filesystem;
using llmft::test::Contains;
using llmft::test::TempDir;
using namespace llmft;

namespace {
void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

TEST_CASE("checkpoints: sealed with a marker, found newest first, pruned to keep_last_n", "[train][checkpoint]") {
  TempDir dir("llmft-ckpt");
  for (int64_t step : {2, 4, 6}) {
    train::write_checkpoint(dir.path, step, [&](const fs::path& partial) {
      CHECK(partial.filename().string().ends_with(".partial"));
      write_text(partial / "a.bin", std::string(size_t(step), 'x'));
    });
  }
  auto all = train::complete_checkpoints(dir.path);
  REQUIRE(all.size() == 3);
  CHECK(all.back().step == 6);
  CHECK(train::checkpoint_problem(all.back().dir).empty());
  train::prune_checkpoints(dir.path, 2);
  all = train::complete_checkpoints(dir.path);
  REQUIRE(all.size() == 2);
  CHECK(all.front().step == 4);
}

TEST_CASE("checkpoints: a half-written or damaged one is never taken for complete", "[train][checkpoint]") {
  TempDir dir("llmft-ckpt");
  train::write_checkpoint(dir.path, 1, [&](const fs::path& p) { write_text(p / "weights", "0123456789"); });
  // A crash before the rename leaves a .partial directory; one before the marker leaves no marker.
  fs::create_directories(dir.path / "checkpoint-9.partial");
  fs::create_directories(dir.path / "checkpoint-8");
  write_text(dir.path / "checkpoint-8" / "weights", "0123");
  CHECK_THAT(train::checkpoint_problem(dir.path / "checkpoint-8"), Contains("no COMPLETE marker"));
  // A truncated file (e.g. a disk that filled up under a copy) is caught by the marker's sizes.
  fs::copy(dir.path / "checkpoint-1", dir.path / "checkpoint-5", fs::copy_options::recursive);
  write_text(dir.path / "checkpoint-5" / "weights", "01234");
  CHECK_THAT(train::checkpoint_problem(dir.path / "checkpoint-5"), Contains("weights has 5 bytes"));
  auto latest = train::latest_checkpoint(dir.path);
  REQUIRE(latest.has_value());
  CHECK(latest->step == 1);
  // A failure while filling removes the partial directory and keeps the older checkpoint.
  CHECK_THROWS_AS(train::write_checkpoint(dir.path, 2, [](const fs::path&) { throw Error("disk full"); }), Error);
  CHECK_FALSE(fs::exists(dir.path / "checkpoint-2.partial"));
  CHECK_FALSE(fs::exists(dir.path / "checkpoint-2"));
  train::prune_checkpoints(dir.path, 0);
  CHECK_FALSE(fs::exists(dir.path / "checkpoint-9.partial"));
  CHECK(train::checkpoint_step("checkpoint-12") == 12);
  CHECK_FALSE(train::checkpoint_step("checkpoint-12.partial").has_value());
}

TEST_CASE("metrics: a resumed run drops rows after its checkpoint; the plot reads them", "[train][metrics]") {
  TempDir dir("llmft-metrics");
  const fs::path path = dir.path / "metrics.jsonl";
  {
    train::MetricsLog log(path, std::nullopt);
    for (int step = 1; step <= 5; ++step) log.write({{"step", step}, {"loss", 3.0 - 0.1 * step}});
    log.write({{"step", 5}, {"eval_loss", 2.5}});
  }
  std::ofstream(path, std::ios::app) << "{\"step\": 6, \"lo";  // torn last line
  {
    train::MetricsLog log(path, 3);
    log.write({{"step", 4}, {"loss", 1.0}});
  }
  auto rows = train::read_metrics(path);
  REQUIRE(rows.size() == 4);
  CHECK(rows.back()["loss"] == 1.0);
  auto series = train::loss_series_from_metrics(path);
  CHECK(series.train.size() == 4);
  CHECK(series.eval.empty());
  train::write_loss_svg(dir.path / "loss.svg", series);
  const std::string svg = test::read_file_bytes(dir.path / "loss.svg");
  CHECK_THAT(svg, Contains("<svg"));
  CHECK_THAT(svg, Contains("<polyline"));
}

TEST_CASE("progress: durations and sizes read naturally", "[train][progress]") {
  CHECK(train::format_duration(42) == "42s");
  CHECK(train::format_duration(187) == "3m07s");
  CHECK(train::format_duration(7500) == "2h05m");
  CHECK(train::format_memory(512ull << 20) == "512 MiB");
  CHECK(train::format_memory(3ull << 30) == "3.00 GiB");
}

TEST_CASE("step plan: epochs, max_steps and warmup as HF computes them", "[train][plan]") {
  recipes::TrainSection t;
  t.batch_size = 4;
  t.grad_accum_steps = 2;
  t.epochs = 3;
  t.warmup_ratio = 0.1;
  auto plan = recipes::plan_steps(t, 100);  // 25 batches -> 12 steps per epoch
  CHECK(plan.batches_per_epoch == 25);
  CHECK(plan.steps_per_epoch == 12);
  CHECK(plan.total_steps == 36);
  CHECK(plan.warmup_steps == 4);  // ceil(3.6)
  t.epochs.reset();
  t.max_steps = 50;
  t.warmup_ratio.reset();
  t.warmup_steps = 5;
  plan = recipes::plan_steps(t, 100);
  CHECK(plan.total_steps == 50);
  CHECK(plan.warmup_steps == 5);
  CHECK_THROWS_WITH(recipes::plan_steps(t, 7), Contains("no full optimizer step"));
}

TEST_CASE("memory estimate: checkpointing keeps less; LoRA needs far less optimizer state", "[train][memory]") {
  train::MemoryEstimateInput in;
  in.config.hidden_size = 2048;
  in.config.intermediate_size = 8192;
  in.config.num_attention_heads = 32;
  in.config.num_key_value_heads = 8;
  in.config.num_hidden_layers = 16;
  in.config.vocab_size = 128256;
  in.total_params = 1'235'814'400;
  in.trainable_params = 11'272'192;
  in.weight_bytes = 2;
  in.trainable_bytes = 4;
  in.lora_rank = 16;
  in.batch_size = 4;
  in.seq_len = 2048;
  auto lora = train::estimate_training_memory(in);
  CHECK(lora.activations_checkpointed < lora.activations_full / 4);
  CHECK(lora.total(true) < lora.total(false));
  CHECK(lora.optimizer == uint64_t(in.trainable_params) * 8);
  in.lora = false;
  in.trainable_params = in.total_params;
  in.trainable_bytes = 2;
  in.master_weights = true;
  auto full = train::estimate_training_memory(in);
  CHECK(full.optimizer == uint64_t(in.total_params) * 12);  // exp_avg + exp_avg_sq + master, fp32
  CHECK(full.weights == uint64_t(in.total_params) * 2);

  // Per process of a 4-rank run: ZeRO 1 divides the optimizer state, 2 also the gradients; each
  // adds three gradient buckets (25 MiB at most) in flight.
  in.ranks = 4;
  const uint64_t bucket_cap = uint64_t(25) << 20;
  in.zero_stage = 0;
  auto replicated = train::estimate_training_memory(in);
  CHECK(replicated.optimizer == full.optimizer);
  CHECK(replicated.gradients == full.gradients + 3 * bucket_cap);
  in.zero_stage = 1;
  auto stage1 = train::estimate_training_memory(in);
  CHECK(stage1.optimizer == (full.optimizer + 3) / 4);
  CHECK(stage1.gradients == full.gradients + 3 * std::min(bucket_cap, full.gradients / 16));
  in.zero_stage = 2;
  auto stage2 = train::estimate_training_memory(in);
  CHECK(stage2.optimizer == stage1.optimizer);
  CHECK(stage2.gradients == (full.gradients + 3) / 4 + 3 * std::min(bucket_cap, full.gradients / 16));
  CHECK(stage2.total(true) < stage1.total(true));
  CHECK(stage1.total(true) < replicated.total(true));
}

TEST_CASE("shipped recipes all load", "[train][recipes]") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(LLMFT_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(recipes::load_recipe(entry.path(), {}));
    ++count;
  }
  CHECK(count >= 8);
}
