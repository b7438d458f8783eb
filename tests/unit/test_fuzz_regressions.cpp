// Replays the fuzzers' seed corpora (fuzz/corpus/<target>/) and every reproducer of a fixed finding
// (fuzz/regressions/<target>/) through the same target functions the libFuzzer executables call
// (fuzz/targets/), so the normal build keeps them fixed without clang. A target function throws
// for a finding (an InvariantViolation, or any exception other than the llmft::Error it expects).
#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/hf_tokenizer_json.h"
#include "data/json_records.h"
#include "fuzz/targets/targets.h"
#include "io/error.h"
#include "model/hf_config.h"
#include "recipes/recipe_config.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("fuzz seeds and regression inputs replay cleanly", "[fuzz]") {
  const fs::path fuzz_dir = fs::path(LLMFT_SOURCE_DIR) / "fuzz";
  for (const llmft::fuzz::Target& target : llmft::fuzz::all_targets()) {
    const auto seeds = files_under(fuzz_dir / "corpus" / target.name);
    const auto regressions = files_under(fuzz_dir / "regressions" / target.name);
    INFO("target " << target.name);
    CHECK(!seeds.empty());  // every target has a seed corpus
    std::vector<fs::path> inputs = seeds;
    inputs.insert(inputs.end(), regressions.begin(), regressions.end());
    for (const fs::path& input : inputs) {
      const std::string bytes = llmft::test::read_file_bytes(input);
      INFO("input " << input.string() << " (" << bytes.size() << " bytes)");
      std::string failure;
      try {
        target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "a non-std exception";
      }
      CHECK(failure == "");
    }
  }
}

// The findings' fixes, by their messages: one llmft::Error line naming the file and key.
TEST_CASE("fuzz findings fail as one llmft::Error naming the file and key", "[fuzz]") {
  using llmft::test::Contains;
  llmft::test::TempDir dir;
  // A number beyond double's range is nlohmann's out_of_range, not a parse_error.
  std::ofstream(dir.path / "config.json") << "{\"hidden_size\": 1e400}";
  CHECK_THROWS_WITH(llmft::model::load_hf_config(dir.path / "config.json"), Contains("config.json: invalid JSON"));
  CHECK_THROWS_WITH(llmft::data::for_each_json_record("{\"text\": \"a\"}\n  {\"x\": 1e400}", "d.jsonl",
                                                      [](const nlohmann::json&, int64_t) {}),
                    Contains("d.jsonl:2:1: malformed JSON: number overflow"));
  // tokenizer.json that is not an object, or with an id that is not an int32 integer.
  std::ofstream(dir.path / "tokenizer.json") << "0";
  CHECK_THROWS_WITH(llmft::data::load_hf_tokenizer(dir.path), Contains("tokenizer.json: expected a JSON object"));
  std::ofstream(dir.path / "tokenizer.json")
      << R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 1e30}, "merges": []}})";
  CHECK_THROWS_WITH(llmft::data::load_hf_tokenizer(dir.path),
                    Contains("model.vocab 'a': token id must be an integer from 0 to 2147483647, got 1e+30"));
  std::ofstream(dir.path / "tokenizer.json") << R"({"pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "added_tokens": [{"id": -1, "content": "<s>", "special": true}]})";
  CHECK_THROWS_WITH(llmft::data::load_hf_tokenizer(dir.path), Contains("added_tokens '<s>': token id must be"));
  // Recipe strings must be UTF-8 (they are written to run.json).
  CHECK_THROWS_WITH(llmft::recipes::parse_recipe("data:\n path: \xE4\n", "r.yaml", {}),
                    Contains("data.path: not valid UTF-8 text"));
  CHECK_THROWS_WITH(llmft::recipes::parse_recipe("", "r.yaml", {"model.path=a\xFF"}),
                    Contains("model.path: not valid UTF-8 text"));
}
