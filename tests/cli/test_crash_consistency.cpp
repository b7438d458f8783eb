// What `llmft train` leaves behind when things go wrong, through the real binary on the tiny fixture:
//  - killed with SIGKILL at random moments (inside steps, evaluations, checkpoint writes, pruning and
//    the final output), then resumed until it finishes: no damaged checkpoint may ever be taken as
//    complete, and the finished run must equal an uninterrupted one bit for bit;
//  - a full disk while saving (a file-size limit on the process): one clear error, the previous
//    checkpoint intact, and a resume without the limit matches the straight run;
//  - non-finite steps (forced through the test-only LLMFT_TEST_NONFINITE_STEPS): skipped with a
//    warning up to train.max_nonfinite_steps, then a stop with a checkpoint; resumes stay exact.
// LLMFT_CRASH_TEST_ITERATIONS sets the number of kills (default 20); the seed is fixed, but where a
// kill lands also depends on timing, so each run of the test covers somewhat different points.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"
#include "train/checkpoint_store.h"
#include "train/metrics_log.h"

namespace fs = std::filesystem;
using llmft::test::run_llmft;
using llmft::test::TempDir;

namespace {

const fs::path kFixture = llmft::test::fixture("tiny_chat");
constexpr int64_t kSteps = 12;

// Short steps, a checkpoint after every one, pruning, dropout (the RNG state must survive too) and
// evaluations in between, so kills land in every phase of the loop.
fs::path write_recipe(const fs::path& dir, int64_t save_every_steps = 1) {
  const fs::path path = dir / "recipe.yaml";
  std::ofstream out(path);
  out << "model:\n  path: " << kFixture.string() << "\n  dtype: fp32\n  device: cpu\n"
      << "method: lora\n"
      << "lora:\n  rank: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: all-linear\n"
      << "data:\n  path: " << (kFixture / "train.jsonl").string() << "\n  eval_path: "
      << (kFixture / "eval.jsonl").string() << "\n  format: chat\n  max_seq_len: 64\n"
      << "train:\n  batch_size: 4\n  grad_accum_steps: 1\n  max_steps: " << kSteps
      << "\n  lr: 5.0e-3\n  warmup_steps: 2\n  seed: 11\n"
      << "output:\n  dir: " << (dir / "run").string() << "\n  save_every_steps: " << save_every_steps << "\n  keep_last_n: 2\n  log_every_steps: 1\n"
      << "eval:\n  every_steps: 5\n  max_batches: 1\n";
  return path;
}

// (step, loss, lr, grad_norm) of every optimizer step, as text so the comparison is exact.
std::vector<std::string> step_rows(const fs::path& metrics) {
  std::vector<std::string> rows;
  for (const auto& j : llmft::train::read_metrics(metrics)) {
    if (!j.contains("loss")) continue;
    rows.push_back(nlohmann::json{j["step"], j["loss"], j["lr"], j["grad_norm"]}.dump());
  }
  return rows;
}

// Every checkpoint the store calls complete loads (its JSON parses, every tensor reads) and is the
// step its name says; no ".partial" directory is ever among them. Returns how many partial
// directories the kill left behind.
int check_checkpoints(const fs::path& run) {
  const auto complete = llmft::train::complete_checkpoints(run);
  for (const auto& c : complete) {
    INFO(c.dir.string());
    CHECK(c.dir.filename().string().find(".partial") == std::string::npos);
    CHECK(llmft::train::checkpoint_problem(c.dir).empty());
    std::ifstream in(c.dir / "trainer_state.json");
    const auto state = nlohmann::json::parse(in);
    CHECK(state.at("step").get<int64_t>() == c.step);
    for (const char* name : {"adapter_model.safetensors", "optimizer.safetensors", "rng_state.safetensors"}) {
      auto file = llmft::io::SafetensorsFile::open(c.dir / name);
      for (const auto& info : file.tensors()) CHECK(file.tensor(info.name).numel() >= 0);
    }
  }
  int partial = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("checkpoint-")) continue;
    const bool counted = std::any_of(complete.begin(), complete.end(), [&](const auto& c) { return c.dir == entry.path(); });
    if (name.ends_with(".partial")) {
      ++partial;
      CHECK_FALSE(counted);
    } else if (!counted) {
      // A "checkpoint-<step>" directory that is not complete must say why.
      CHECK_FALSE(llmft::train::checkpoint_problem(entry.path()).empty());
    }
  }
  if (auto latest = llmft::train::latest_checkpoint(run)) {
    CHECK(latest->dir.filename().string().find(".partial") == std::string::npos);
  }
  return partial;
}

int iterations() {
  const char* text = std::getenv("LLMFT_CRASH_TEST_ITERATIONS");
  return text != nullptr ? std::max(1, std::atoi(text)) : 20;
}

}  // namespace

TEST_CASE("train: SIGKILL at random points never leaves a damaged checkpoint; kill and resume cycles match the "
          "straight run",
          "[fixtures][train][crash]") {
  const auto started = std::chrono::steady_clock::now();
  TempDir straight("llmft-crash-straight");
  const auto reference = run_llmft({"train", write_recipe(straight.path).string()});
  INFO(describe(reference));
  REQUIRE(reference.exit_code == 0);
  const auto reference_rows = step_rows(straight.path / "run" / "metrics.jsonl");
  REQUIRE(reference_rows.size() == size_t(kSteps));
  const std::string reference_adapter =
      llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors");

  // Delays up to a little more than one step (with its checkpoint, pruning and evaluation), measured on
  // this machine by the reference run, so kills spread over the whole cycle.
  double elapsed = 0;
  for (const auto& row : llmft::train::read_metrics(straight.path / "run" / "metrics.jsonl")) {
    elapsed = std::max(elapsed, row.value("elapsed_seconds", 0.0));
  }
  const double step_seconds = std::max(0.05, elapsed / double(kSteps));
  const int wanted = iterations();
  std::mt19937 rng(20240607);
  std::uniform_real_distribution<double> delay(0.0, 1.5 * step_seconds);
  std::uniform_real_distribution<double> write_delay(0.0, 0.06);
  int kills = 0, rounds = 0, partial_left = 0, no_checkpoint = 0;
  while (kills < wanted) {
    ++rounds;
    TempDir dir("llmft-crash");
    const fs::path recipe = write_recipe(dir.path);
    const fs::path run = dir.path / "run";
    for (int attempt = 0;; ++attempt) {
      REQUIRE(attempt < 10 * kSteps);
      const auto latest = llmft::train::latest_checkpoint(run);
      std::vector<std::string> args{"train", recipe.string()};
      if (latest) args.push_back("--resume");
      if (kills >= wanted) {
        const auto last = run_llmft(args);
        INFO(describe(last));
        REQUIRE(last.exit_code == 0);
        break;
      }
      // A step line at most three steps past the resume point, plus a random delay: the kill lands in
      // that step's evaluation or checkpoint write, or in one of the next steps, or in the final output.
      const int64_t from = latest ? latest->step : 0;
      const int64_t target = std::min<int64_t>(kSteps, from + 1 + int64_t(rng() % 3));
      llmft::test::RunOptions options;
      // Half the kills aim at the checkpoint write that follows the step line (tens of ms), half
      // anywhere in the next step and a half.
      options.signal_delay_seconds = rng() % 2 == 0 ? write_delay(rng) : delay(rng);
      const auto killed = llmft::test::run_llmft_and_signal(
          args, "step " + std::to_string(target) + "/" + std::to_string(kSteps), SIGKILL, 120, options);
      INFO(describe(killed));
      if (killed.exit_code == 0) break;  // finished before the kill landed
      REQUIRE(killed.exit_code == 128 + SIGKILL);
      ++kills;
      partial_left += check_checkpoints(run);
      if (!llmft::train::latest_checkpoint(run)) ++no_checkpoint;
    }
    INFO("round " << rounds);
    CHECK(step_rows(run / "metrics.jsonl") == reference_rows);
    CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") == reference_adapter);
    check_checkpoints(run);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "crash consistency: " << step_seconds << " s per step; " << kills << " SIGKILLs over " << rounds << " runs, " << partial_left
            << " left a partial checkpoint, " << no_checkpoint << " left no checkpoint yet; " << seconds << " s\n";
}

namespace {

// (step, skipped count) of the rows of skipped steps.
std::vector<std::pair<int64_t, int64_t>> skipped_rows(const fs::path& metrics) {
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (const auto& j : llmft::train::read_metrics(metrics)) {
    if (j.contains("skipped")) rows.emplace_back(j["step"].get<int64_t>(), j["skipped"].get<int64_t>());
  }
  return rows;
}

int64_t saved_skips(const fs::path& checkpoint) {
  std::ifstream in(checkpoint / "trainer_state.json");
  return nlohmann::json::parse(in).at("nonfinite_steps_skipped").get<int64_t>();
}

llmft::test::RunOptions poison(const std::string& steps) {
  llmft::test::RunOptions options;
  options.env = {{"LLMFT_TEST_NONFINITE_STEPS", steps}};
  return options;
}

}  // namespace

TEST_CASE("train: non-finite steps are skipped with a warning, counted in metrics and resume exactly",
          "[fixtures][train][crash]") {
  TempDir straight("llmft-nonfinite");
  const auto result = run_llmft({"train", write_recipe(straight.path, 3).string()}, poison("3,5"));
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.err, llmft::test::Contains("warning: step 3: loss is not finite"));
  CHECK_THAT(result.err, llmft::test::Contains("warning: step 5: loss is not finite"));
  CHECK_THAT(result.err, llmft::test::Contains("2 of 3 allowed by train.max_nonfinite_steps"));
  const fs::path metrics = straight.path / "run" / "metrics.jsonl";
  CHECK(skipped_rows(metrics) == std::vector<std::pair<int64_t, int64_t>>{{3, 1}, {5, 2}});
  CHECK(step_rows(metrics).size() == size_t(kSteps - 2));

  // Resumed from checkpoint-3 (one skip behind it): the same rows, skips and adapter.
  TempDir crashed("llmft-nonfinite-resume");
  const fs::path recipe = write_recipe(crashed.path, 3);
  const fs::path run = crashed.path / "run";
  REQUIRE(run_llmft({"train", recipe.string(), "output.keep_last_n=0"}, poison("3,5")).exit_code == 0);
  for (const auto& c : llmft::train::complete_checkpoints(run)) {
    if (c.step > 3) fs::remove_all(c.dir);
  }
  fs::remove(run / "adapter_model.safetensors");
  REQUIRE(llmft::train::latest_checkpoint(run).has_value());
  CHECK(saved_skips(llmft::train::latest_checkpoint(run)->dir) == 1);
  const auto resumed = run_llmft({"train", recipe.string(), "output.keep_last_n=0", "--resume"}, poison("3,5"));
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(step_rows(run / "metrics.jsonl") == step_rows(metrics));
  CHECK(skipped_rows(run / "metrics.jsonl") == skipped_rows(metrics));
  CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("train: past train.max_nonfinite_steps training stops with a checkpoint and one clear line",
          "[fixtures][train][crash]") {
  TempDir dir("llmft-nonfinite-stop");
  const fs::path recipe = write_recipe(dir.path);
  const fs::path run = dir.path / "run";
  const auto stopped = run_llmft({"train", recipe.string(), "train.max_nonfinite_steps=2"}, poison("2,4,5"));
  INFO(describe(stopped));
  CHECK(stopped.exit_code == 2);
  REQUIRE_FALSE(stopped.err_lines().empty());
  const std::string last = stopped.err_lines().back();
  for (const char* part : {"step 5: loss is not finite", "3 non-finite steps", "train.max_nonfinite_steps (2)",
                           "lower train.lr or check the data around step 5", "--resume"}) {
    CHECK_THAT(last, llmft::test::Contains(part));
  }
  // The checkpoint is the last good state: step 4, with its two skips.
  auto latest = llmft::train::latest_checkpoint(run);
  REQUIRE(latest.has_value());
  CHECK(latest->step == 4);
  CHECK(saved_skips(latest->dir) == 2);
  CHECK_FALSE(fs::exists(run / "adapter_model.safetensors"));

  // 0 stops at the first one.
  TempDir strict("llmft-nonfinite-strict");
  const auto first = run_llmft({"train", write_recipe(strict.path).string(), "train.max_nonfinite_steps=0"}, poison("2"));
  CHECK(first.exit_code == 2);
  CHECK_THAT(first.err, llmft::test::Contains("step 2: loss is not finite"));

  // Raising the limit lets the stopped run continue, exactly like a run that had the limit from the start.
  TempDir straight("llmft-nonfinite-straight");
  const auto reference = run_llmft({"train", write_recipe(straight.path).string(), "train.max_nonfinite_steps=3"},
                                   poison("2,4,5"));
  REQUIRE(reference.exit_code == 0);
  const auto resumed = run_llmft({"train", recipe.string(), "train.max_nonfinite_steps=3", "--resume"}, poison("2,4,5"));
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(step_rows(run / "metrics.jsonl") == step_rows(straight.path / "run" / "metrics.jsonl"));
  CHECK(skipped_rows(run / "metrics.jsonl") == std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {4, 2}, {5, 3}});
  CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("train: a full disk while saving gives one clear line, keeps the previous checkpoint and resumes",
          "[fixtures][train][crash]") {
  TempDir straight("llmft-full-disk-straight");
  REQUIRE(run_llmft({"train", write_recipe(straight.path, 3).string()}).exit_code == 0);

  // A run that got as far as checkpoint-3 (everything later removed), resumed with a file-size limit
  // that the small files (metrics.jsonl, run.json) stay under and the optimizer state does not.
  TempDir dir("llmft-full-disk");
  const fs::path recipe = write_recipe(dir.path, 3);
  const fs::path run = dir.path / "run";
  REQUIRE(run_llmft({"train", recipe.string(), "output.keep_last_n=0"}).exit_code == 0);
  for (const auto& c : llmft::train::complete_checkpoints(run)) {
    if (c.step > 3) fs::remove_all(c.dir);
  }
  fs::remove(run / "adapter_model.safetensors");
  const auto optimizer_bytes = fs::file_size(run / "checkpoint-3" / "optimizer.safetensors");
  const auto before = llmft::test::read_file_bytes(run / "checkpoint-3" / "adapter_model.safetensors");
  llmft::test::RunOptions limited;
  limited.file_size_limit = optimizer_bytes / 2;
  const auto full = run_llmft({"train", recipe.string(), "output.keep_last_n=0", "data.cache=false", "--resume"},
                              limited);
  INFO(describe(full));
  CHECK(full.exit_code == 2);
  REQUIRE_FALSE(full.err_lines().empty());
  const std::string last = full.err_lines().back();
  CHECK_THAT(last, llmft::test::Contains("checkpoint-6.partial/"));
  CHECK_THAT(last, llmft::test::Contains(".safetensors"));
  CHECK_THAT(last, llmft::test::Contains("File too large"));
  auto latest = llmft::train::latest_checkpoint(run);
  REQUIRE(latest.has_value());
  CHECK(latest->step == 3);
  CHECK(llmft::test::read_file_bytes(latest->dir / "adapter_model.safetensors") == before);
  check_checkpoints(run);

  const auto resumed = run_llmft({"train", recipe.string(), "output.keep_last_n=0", "--resume"});
  INFO(describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(step_rows(run / "metrics.jsonl") == step_rows(straight.path / "run" / "metrics.jsonl"));
  CHECK(llmft::test::read_file_bytes(run / "adapter_model.safetensors") ==
        llmft::test::read_file_bytes(straight.path / "run" / "adapter_model.safetensors"));
}

TEST_CASE("checkpoint store: replacing a step's checkpoint and pruning keep every checkpoint whole",
          "[train][crash]") {
  TempDir dir("llmft-checkpoint-store");
  const fs::path run = dir.path / "run";
  auto write = [&](int64_t step, const std::string& text) {
    return llmft::train::write_checkpoint(run, step, [&](const fs::path& partial) {
      std::ofstream(partial / "state.txt") << text;
    });
  };
  // The same step saved twice (a run resumed from its final checkpoint): the names are exchanged
  // atomically, so there is never a moment without a complete checkpoint-5, and nothing is left over.
  write(5, "old");
  const fs::path replaced = write(5, "newer");
  CHECK(llmft::test::read_file_bytes(replaced / "state.txt") == "newer");
  CHECK(llmft::train::checkpoint_problem(replaced).empty());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run)) names.push_back(entry.path().filename().string());
  CHECK(names == std::vector<std::string>{"checkpoint-5"});

  // A sealed directory that was never renamed (a kill between the marker and the rename) is not a
  // checkpoint; pruning removes it along with the checkpoints past keep_last_n.
  for (int64_t step : {1, 2, 3}) write(step, "s" + std::to_string(step));
  fs::create_directories(run / "checkpoint-9.partial");
  fs::copy(run / "checkpoint-3", run / "checkpoint-9.partial", fs::copy_options::recursive);
  CHECK(llmft::train::latest_checkpoint(run)->step == 5);
  llmft::train::prune_checkpoints(run, 2);
  names.clear();
  for (const auto& entry : fs::directory_iterator(run)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"checkpoint-3", "checkpoint-5"});
}
