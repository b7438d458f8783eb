// `llmft generate` end to end on the tiny chat fixture (a random-init Llama with a byte-level BPE
// tokenizer and a ChatML template, made by scripts/reference/make_fixtures.py).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/generate_command.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using llmft::test::Contains;
using llmft::test::run_llmft;
using llmft::test::TempDir;

namespace {

const fs::path kFixture = llmft::test::fixture("tiny_chat");

std::vector<std::string> base_args(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"generate", "--model", kFixture.string(), "--device", "cpu", "--max-new-tokens", "12"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("generate cli: greedy JSON output is deterministic and matches the streamed text", "[generate][cli][fixtures]") {
  const auto json_run = run_llmft(base_args({"--prompt", "Tell me a story", "--greedy", "--json"}));
  INFO(json_run.err);
  REQUIRE(json_run.exit_code == 0);
  const auto records = json_lines(json_run.out);
  REQUIRE(records.size() == 1);
  const nlohmann::json& r = records[0];
  CHECK(r["prompt"] == "Tell me a story");
  CHECK(r["ids"].size() >= 1);
  CHECK(r["ids"].size() <= 12);
  CHECK((r["stop_reason"] == "max_tokens" || r["stop_reason"] == "stop_token"));

  CHECK(run_llmft(base_args({"--prompt", "Tell me a story", "--greedy", "--json"})).out == json_run.out);
  const auto streamed = run_llmft(base_args({"--prompt", "Tell me a story", "--temperature", "0"}));
  REQUIRE(streamed.exit_code == 0);
  CHECK(streamed.out == r["text"].get<std::string>() + "\n");
}

TEST_CASE("generate cli: a seed makes sampling reproducible", "[generate][cli][fixtures]") {
  const std::vector<std::string> sampled{"--prompt", "Hello", "--temperature", "1.3", "--top-k", "0", "--top-p",
                                         "0.95", "--repetition-penalty", "1.1", "--json", "--seed"};
  auto with_seed = [&](const std::string& seed) {
    auto args = sampled;
    args.push_back(seed);
    const auto r = run_llmft(base_args(args));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json_lines(r.out).at(0)["ids"];
  };
  CHECK(with_seed("5") == with_seed("5"));
}

TEST_CASE("generate cli: --prompts gives one output per prompt (text lines and JSONL)", "[generate][cli][fixtures]") {
  TempDir dir;
  std::ofstream(dir.path / "prompts.txt") << "one\ntwo\n\nthree\n";
  std::ofstream(dir.path / "prompts.jsonl") << "{\"prompt\": \"one\"}\n{\"prompt\": \"two\"}\n";
  const auto lines = run_llmft(base_args({"--prompts", (dir.path / "prompts.txt").string(), "--greedy", "--json"}));
  INFO(lines.err);
  REQUIRE(lines.exit_code == 0);
  const auto records = json_lines(lines.out);
  REQUIRE(records.size() == 3);
  CHECK(records[2]["prompt"] == "three");
  const auto jsonl = run_llmft(base_args({"--prompts", (dir.path / "prompts.jsonl").string(), "--greedy", "--json"}));
  REQUIRE(jsonl.exit_code == 0);
  const auto jsonl_records = json_lines(jsonl.out);
  REQUIRE(jsonl_records.size() == 2);
  CHECK(jsonl_records[0] == records[0]);  // the same prompt gives the same greedy reply
}

TEST_CASE("generate cli: a stop string ends the text and is not printed", "[generate][cli][fixtures]") {
  const auto full = run_llmft(base_args({"--prompt", "Tell me a story", "--greedy", "--json"}));
  REQUIRE(full.exit_code == 0);
  const std::string text = json_lines(full.out).at(0)["text"];
  REQUIRE(text.size() >= 5);  // long enough to cut
  const std::string stop = text.substr(3, 2);
  const auto cut = run_llmft(base_args({"--prompt", "Tell me a story", "--greedy", "--stop", stop}));
  REQUIRE(cut.exit_code == 0);
  CHECK(cut.out == text.substr(0, text.find(stop)) + "\n");
}

TEST_CASE("generate cli: mistakes are one-line errors with exit code 2", "[generate][cli][fixtures]") {
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  for (const Case& c : {Case{{}, "exactly one of --prompt, --prompts FILE or --chat"},
                        Case{{"--prompt", "x", "--top-p", "0"}, "--top-p must be in (0, 1]"},
                        Case{{"--prompt", "x", "--temperature", "-1"}, "--temperature must be"},
                        Case{{"--prompts", "/nonexistent/prompts.txt"}, "cannot open the prompts file"},
                        Case{{"--prompt", "x", "--template", "alpaca"}, "--template 'alpaca' is unknown"},
                        Case{{"--prompt", "x", "--template", "none", "--system", "s"}, "--system needs a chat template"},
                        Case{{"--prompt", "x", "--dtype", "int8"}, "--dtype"}}) {
    const auto r = run_llmft(base_args(c.extra));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    REQUIRE(r.err_lines().size() == 1);
    CHECK_THAT(r.err_lines()[0], Contains("llmft: error: "));
    CHECK_THAT(r.err_lines()[0], Contains(c.message));
  }
}

TEST_CASE("generate chat: each line is a user turn answered with the conversation so far", "[generate][cli][fixtures]") {
  llmft::eval::GenerateCommand command;
  command.model = kFixture.string();
  command.chat = true;
  command.json = true;
  command.max_new_tokens = 6;
  command.sampling.greedy = true;
  std::istringstream in("Hello\n\nHow are you?\n");
  std::ostringstream out, log;
  REQUIRE(llmft::eval::run_generate_command(command, in, out, log, /*interactive=*/false) == 0);
  const auto records = json_lines(out.str());
  REQUIRE(records.size() == 2);
  CHECK(records[1]["prompt"] == "How are you?");
  CHECK(log.str().empty());

  // The second reply saw the first exchange: asked alone, the same question may get another reply,
  // but asking the same conversation again must give the same one.
  std::istringstream again("Hello\nHow are you?\n");
  std::ostringstream out2;
  llmft::eval::run_generate_command(command, again, out2, log, false);
  CHECK(out2.str() == out.str());
}

TEST_CASE("generate cli: --adapter gives the same greedy ids as the merged model", "[generate][cli][fixtures]") {
  // The adapter is trained for real (lr high enough to change the output) and merged by llmft merge,
  // whose result is checked against PEFT in test_merge_cli.cpp; base + adapter must generate alike.
  TempDir dir("llmft-generate-adapter");
  const fs::path recipe = dir.path / "recipe.yaml";
  std::ofstream(recipe) << "model:\n  path: " << kFixture.string() << "\n  dtype: fp32\n  device: cpu\nmethod: lora\n"
                        << "lora:\n  rank: 8\n  alpha: 16\n  dropout: 0.0\n"
                        << "data:\n  path: " << (kFixture / "train.jsonl").string() << "\n  max_seq_len: 64\n"
                        << "train:\n  batch_size: 4\n  grad_accum_steps: 1\n  max_steps: 12\n  lr: 2.0e-2\n"
                        << "  warmup_steps: 0\n  seed: 3\n"
                        << "output:\n  dir: " << (dir.path / "run").string() << "\n";
  REQUIRE(run_llmft({"train", recipe.string()}).exit_code == 0);
  REQUIRE(run_llmft({"merge", "--base", kFixture.string(), "--adapter", (dir.path / "run").string(), "--out",
                     (dir.path / "merged").string(), "--dtype", "fp32"})
              .exit_code == 0);
  auto ids = [](const std::vector<std::string>& args) {
    const auto r = run_llmft(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json_lines(r.out).at(0)["ids"];
  };
  const std::vector<std::string> common{"--device", "cpu", "--max-new-tokens", "12", "--prompt", "Tell me a story",
                                        "--greedy", "--json"};
  auto with = [&](std::vector<std::string> head) {
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  const auto adapted = ids(with({"generate", "--model", kFixture.string(), "--adapter", (dir.path / "run").string()}));
  const auto merged = ids(with({"generate", "--model", (dir.path / "merged").string()}));
  const auto base = ids(with({"generate", "--model", kFixture.string()}));
  CHECK(adapted == merged);
  CHECK(adapted != base);  // the adapter changed what the model says
}
