// Multiple-choice task files, harness-style context/continuation tokenization and prompt variants.
#include <filesystem>
#include <fstream>
#include <string>

#include "data/tokenizer_loader.h"
#include "eval/eval_prompts.h"
#include "eval/multiple_choice.h"
#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using llmft::test::Contains;
using llmft::test::TempDir;

namespace {

fs::path write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string load_error(const fs::path& path) {
  try {
    llmft::eval::load_mc_task(path);
  } catch (const llmft::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("eval mc: task files are read and checked line by line", "[eval]") {
  TempDir dir("llmft-mc");
  const fs::path good = write(dir.path / "good.jsonl",
                              "{\"context\": \"Q: 2+2?\\nA:\", \"choices\": [\"3\", \"4\"], \"gold\": 1}\n\n"
                              "{\"context\": \"\", \"choices\": [\"x\", \"y\", \"z\"], \"gold\": 0}\n");
  const auto items = llmft::eval::load_mc_task(good);
  REQUIRE(items.size() == 2);
  CHECK(items[0].context == "Q: 2+2?\nA:");
  CHECK((items[0].choices == std::vector<std::string>{"3", "4"}));
  CHECK(items[0].gold == 1);
  CHECK(items[1].choices.size() == 3);
  CHECK(llmft::eval::looks_like_mc_task(good));
  CHECK_FALSE(llmft::eval::looks_like_mc_task(write(dir.path / "chat.jsonl", "{\"messages\": []}\n")));

  CHECK_THAT(load_error(write(dir.path / "a.jsonl", "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 0}\n")),
             Contains("a.jsonl:1: field 'choices'"));
  CHECK_THAT(load_error(write(dir.path / "b.jsonl", "\n{\"context\": \"c\", \"choices\": [\"a\", \"b\"]}\n")),
             Contains("b.jsonl:2: field 'gold'"));
  CHECK_THAT(load_error(write(dir.path / "c.jsonl", "{\"context\": 1, \"choices\": [\"a\", \"b\"], \"gold\": 0}\n")),
             Contains("c.jsonl:1: field 'context'"));
  CHECK_THAT(load_error(write(dir.path / "d.jsonl", "{\"context\": \"c\",\n")), Contains("d.jsonl:1: malformed JSON"));
  CHECK_THAT(load_error(write(dir.path / "e.jsonl", "\n")), Contains("no items"));
}

TEST_CASE("eval prompts: templates x system prompts", "[eval]") {
  using llmft::eval::prompt_variants;
  auto v = prompt_variants("", {});
  REQUIRE(v.size() == 1);
  CHECK(v[0].template_name == "auto");
  CHECK_FALSE(v[0].system.has_value());

  v = prompt_variants("chatml,none", {"A", "B"});
  REQUIRE(v.size() == 4);
  CHECK(v[0].template_name == "chatml");
  CHECK(v[1].system == std::optional<std::string>("B"));
  CHECK(v[1].label() == "chatml + system 2");
  CHECK(v[2].template_name == "none");
  CHECK_THROWS_AS(prompt_variants("chatml,,none", {}), llmft::Error);
  CHECK_THROWS_AS(prompt_variants("chatml,", {}), llmft::Error);
}

TEST_CASE("eval mc: context and continuation split as lm-evaluation-harness splits them", "[fixtures][eval]") {
  const auto tokenizer = llmft::data::load_tokenizer(fs::path(LLMFT_FIXTURE_DIR) / "tiny_chat");
  const std::string context = "Question: What is the sun?\nAnswer:";
  const auto pair = llmft::eval::encode_pair(*tokenizer, context, " The sun is a star.");
  CHECK(pair.context == tokenizer->encode(context, false));
  auto joined = pair.context;
  joined.insert(joined.end(), pair.continuation.begin(), pair.continuation.end());
  CHECK(joined == tokenizer->encode(context + " The sun is a star.", false));  // whole[len(ctx):]
  CHECK_FALSE(pair.continuation.empty());

  // Trailing whitespace of the context moves to the continuation: the same split as without it.
  const auto spaced = llmft::eval::encode_pair(*tokenizer, context + " ", "The sun is a star.");
  CHECK(spaced.context == pair.context);
  CHECK(spaced.continuation == pair.continuation);
}
