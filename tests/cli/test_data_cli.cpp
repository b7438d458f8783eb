// `llmft data inspect` through the real binary on the tiny chat fixture: the numbers it prints are
// those of the dataset training would load (recomputed here in-process and from the JSONL itself),
// examples come back with their masked spans marked, and mistakes give one line and exit 2.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/tokenizer_loader.h"
#include "recipes/data_inspect.h"
#include "recipes/recipe_config.h"
#include "recipes/train_setup.h"
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

// The fixture's chat data; the token cache is off so that tests never write outside their folder.
// `data_extra` lines go at the end of the data section.
fs::path write_recipe(const fs::path& dir, const fs::path& model = kFixture,
                      const std::string& data_extra = "  eval_path: " + (kFixture / "eval.jsonl").string() + "\n") {
  const fs::path path = dir / "recipe.yaml";
  std::ofstream out(path);
  out << "model:\n  path: " << model.string() << "\n  device: cpu\n"
      << "data:\n  path: " << (kFixture / "train.jsonl").string()
      << "\n  format: chat\n  max_seq_len: 64\n  cache: false\n"
      << data_extra << "train:\n  seed: 7\n";
  return path;
}

int64_t non_blank_lines(const fs::path& path) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

// The report's numbers against the dataset load_dataset gives for the same recipe.
void check_against(const json& report, const llmft::data::TokenizedDataset& expected) {
  const auto& s = expected.stats;
  CHECK(report["records"] == s.records);
  CHECK(report["examples"] == int64_t(expected.samples.size()));
  CHECK(report["truncated"] == s.truncated);
  CHECK(report["dropped"] == s.dropped);
  CHECK(report["skipped"] == s.skipped);
  CHECK(report["tokens"] == s.tokens);
  CHECK(report["supervised_tokens"] == s.supervised_tokens);
  CHECK(report["sha256"] == expected.content_sha256);
  CHECK(report["template"] == expected.template_used);
  std::vector<int64_t> lengths;
  for (const auto& sample : expected.samples) lengths.push_back(int64_t(sample.input_ids.size()));
  const auto summary = llmft::recipes::summarize_lengths(lengths);
  CHECK(report["lengths"]["min"] == summary.min);
  CHECK(report["lengths"]["median"] == summary.median);
  CHECK(report["lengths"]["p95"] == summary.p95);
  CHECK(report["lengths"]["max"] == summary.max);
  int64_t binned = 0;
  for (const auto& bin : report["histogram"]) binned += bin["count"].get<int64_t>();
  CHECK(binned == int64_t(expected.samples.size()));
}

}  // namespace

TEST_CASE("data inspect --json reports exactly the dataset training loads", "[fixtures][data-cli]") {
  TempDir dir("llmft-data-inspect");
  const fs::path recipe_path = write_recipe(dir.path);
  // Short enough that some examples are truncated and some dropped (nothing supervised is left).
  const std::vector<std::string> overrides{"data.max_seq_len=24"};
  std::vector<std::string> args{"data", "inspect", recipe_path.string()};
  args.insert(args.end(), overrides.begin(), overrides.end());
  args.push_back("--json");
  const auto result = run_llmft(args);
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const json report = json::parse(result.out);

  const auto recipe = llmft::recipes::load_recipe(recipe_path, overrides);
  const auto tokenizer = llmft::data::load_tokenizer(kFixture);
  const auto train = llmft::data::load_dataset(llmft::recipes::dataset_options(recipe.data, recipe.data.path), *tokenizer);
  const auto eval =
      llmft::data::load_dataset(llmft::recipes::dataset_options(recipe.data, *recipe.data.eval_path), *tokenizer);
  REQUIRE(train.stats.truncated > 0);
  check_against(report["train"], train);
  check_against(report["eval"], eval);
  CHECK(report["train"]["records"] == non_blank_lines(kFixture / "train.jsonl"));
  CHECK(report["eval"]["records"] == non_blank_lines(kFixture / "eval.jsonl"));
  CHECK(report["train"]["max_seq_len"] == 24);

  // Two samples by default: the first example and the one train.seed picks, their text the ids' text.
  const auto& samples = report["train"]["samples"];
  REQUIRE(samples.size() == 2);
  CHECK(samples[0]["index"] == 0);
  CHECK(samples[1]["index"] == llmft::recipes::sample_indices(int64_t(train.samples.size()), 2, 7)[1]);
  for (const auto& sample : samples) {
    const auto& expected = train.samples[sample["index"].get<std::size_t>()];
    std::string text;
    for (const auto& span : sample["spans"]) text += span["text"].get<std::string>();
    std::string bytes;
    for (int32_t id : expected.input_ids) bytes += tokenizer->token_bytes(id);
    CHECK(text == bytes);
    CHECK(sample["tokens"] == int64_t(expected.input_ids.size()));
    CHECK(sample["supervised_tokens"] == expected.supervised_tokens());
  }
}

TEST_CASE("data inspect renders the prompt masked and the answer supervised", "[fixtures][data-cli]") {
  TempDir dir("llmft-data-render");
  const auto result = run_llmft({"data", "inspect", write_recipe(dir.path).string(), "--json", "--samples", "1"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const json report = json::parse(result.out);
  REQUIRE(report["train"]["samples"].size() == 1);
  // train.jsonl's first record, rendered with the fixture's ChatML template: only the answer and
  // the <|im_end|> closing it are trained on.
  CHECK(report["train"]["samples"][0]["text"] ==
        "⟦<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n⟧"
        "The capital of France is Paris.<|im_end|>⟦\n⟧");

  // The text report (stdout is not a terminal here, so the marks are brackets).
  const auto text = run_llmft({"data", "inspect", write_recipe(dir.path).string()});
  INFO(describe(text));
  REQUIRE(text.exit_code == 0);
  const auto& train = report["train"];
  const std::vector<std::string> expected_lines{
      "train data: " + (kFixture / "train.jsonl").string(),
      "eval data: " + (kFixture / "eval.jsonl").string(),
      "examples kept  " + std::to_string(train["examples"].get<int64_t>()),
      "p95 " + std::to_string(train["lengths"]["p95"].get<int64_t>()),
      "sample 2 of 2: example ",
      "⟧The capital of France is Paris.<|im_end|>⟦",
      "    <|im_start|>assistant"};
  for (const auto& expected : expected_lines) {
    CHECK_THAT(text.out, Contains(expected));
  }
  CHECK_THAT(text.err, Contains("tokenizing"));
}

TEST_CASE("data inspect needs the tokenizer, not the weights, and follows data.eval_split",
          "[fixtures][data-cli]") {
  TempDir dir("llmft-data-noweights");
  const fs::path tokenizer_only = dir.path / "tokenizer_only";
  fs::create_directories(tokenizer_only);
  for (const auto& entry : fs::directory_iterator(kFixture)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("tokenizer", 0) == 0 || name == "chat_template.jinja") fs::copy(entry.path(), tokenizer_only / name);
  }
  REQUIRE_FALSE(fs::exists(tokenizer_only / "model.safetensors"));
  const auto result = run_llmft({"data", "inspect", write_recipe(dir.path, tokenizer_only, "  eval_split: 0.25\n").string(),
                                 "--json", "--samples", "0"});
  INFO(describe(result));
  REQUIRE(result.exit_code == 0);
  const json report = json::parse(result.out);
  const int64_t records = non_blank_lines(kFixture / "train.jsonl");
  // Drops are counted before the split and stay with train; the split takes round(0.25 * kept).
  const int64_t kept = records - report["train"]["dropped"].get<int64_t>();
  CHECK(report["eval"]["examples"] == std::llround(0.25 * double(kept)));
  CHECK(report["train"]["examples"].get<int64_t>() + report["eval"]["examples"].get<int64_t>() == kept);
  CHECK(report["eval_split"] == 0.25);
  CHECK(report["train"]["samples"].empty());
}

TEST_CASE("data inspect mistakes give one clear line and exit 2", "[fixtures][data-cli]") {
  TempDir dir("llmft-data-bad");
  const std::string recipe = write_recipe(dir.path).string();
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {{"data", "inspect", recipe, "data.path=/nonexistent/data.jsonl"}, {"data.path", "/nonexistent/data.jsonl"}},
      {{"data", "inspect", recipe, "data.eval_path=/nonexistent/eval.jsonl"}, {"data.eval_path", "/nonexistent/eval.jsonl"}},
      {{"data", "inspect", recipe, "data.max_seq_lenn=8"}, {"data.max_seq_lenn", "did you mean", "data.max_seq_len"}},
      {{"data", "inspect", recipe, "model.path=/nonexistent/model"}, {"/nonexistent/model"}},
      {{"data", "inspect", (dir.path / "missing.yaml").string()}, {"missing.yaml"}},
      {{"data", "inspect", recipe, "--samples=-1"}, {"--samples"}},
  };
  for (const auto& c : cases) {
    const auto result = run_llmft(c.args);
    INFO(describe(result));
    CHECK(result.exit_code == 2);
    REQUIRE(result.err_lines().size() >= 1);
    const std::string last = result.err_lines().back();
    for (const auto& e : c.expected) CHECK_THAT(last, Contains(e));
  }
}
