// `--prompts FILE` parsing.
#include <fstream>

#include "eval/generate_prompts.h"
#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft;

namespace {
std::filesystem::path write(const test::TempDir& dir, const std::string& text) {
  const auto path = dir.path / "prompts";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}
}  // namespace

TEST_CASE("generate prompts: one per line, blank lines skipped", "[generate][prompts]") {
  test::TempDir dir;
  CHECK(eval::read_prompts(write(dir, "first\n\nsecond {x}\r\n")) == std::vector<std::string>{"first", "second {x}"});
}

TEST_CASE("generate prompts: JSONL with a prompt field", "[generate][prompts]") {
  test::TempDir dir;
  CHECK(eval::read_prompts(write(dir, "{\"prompt\": \"a\\nb\"}\n\n{\"prompt\": \"c\", \"id\": 2}\n")) ==
        std::vector<std::string>{"a\nb", "c"});
}

TEST_CASE("generate prompts: malformed files are one-line errors naming the line", "[generate][prompts]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(eval::read_prompts(write(dir, "{\"prompt\": \"a\"}\n{\"text\": 1}\n")),
                    test::Contains("prompts:2: expected an object with a string \"prompt\""));
  CHECK_THROWS_WITH(eval::read_prompts(write(dir, "{\"prompt\": \n")), test::Contains("prompts:1: not a JSON object"));
  CHECK_THROWS_WITH(eval::read_prompts(write(dir, "\n\n")), test::Contains("no prompts"));
  CHECK_THROWS_AS(eval::read_prompts(dir.path / "missing"), Error);
}
