// The quickstart dataset generator (scripts/data/make_quickstart_dataset.py): reproducible output
// that loads as chat records under the bundled model's tokenizer.
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "data/dataset.h"
#include "data/tokenizer_loader.h"
#include "io/model_locator.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
namespace fs = std::filesystem;

namespace {

bool generate(const fs::path& out) {
  const fs::path script = fs::path(LLMFT_SOURCE_DIR) / "scripts" / "data" / "make_quickstart_dataset.py";
  std::string command = "python3 '";
  command.append(script.string()).append("' --out '").append(out.string()).append("' > /dev/null 2>&1");
  return std::system(command.c_str()) == 0;
}

}  // namespace

TEST_CASE("quickstart dataset: reproducible WordNet definitions in chat format", "[data]") {
  const auto model = llmft::io::find_default_model();
  if (!fs::exists("/usr/share/wordnet/data.noun") || !model) {
    WARN("skipped: needs the Debian package wordnet-base and the bundled SmolLM2 model");
    return;
  }
  llmft::test::TempDir a, b;
  REQUIRE(generate(a.path));
  REQUIRE(generate(b.path));
  const auto tokenizer = load_tokenizer(*model);
  int64_t expected[] = {3000, 200};
  const char* names[] = {"train.jsonl", "eval.jsonl"};
  for (int i = 0; i < 2; ++i) {
    DatasetOptions options;
    options.path = a.path / names[i];
    const TokenizedDataset data = load_dataset(options, *tokenizer);
    CHECK(data.template_used == "chatml");
    CHECK(data.stats.records == expected[i]);
    CHECK(data.stats.dropped == 0);
    CHECK(data.stats.truncated == 0);
    CHECK(data.content_sha256 == load_dataset({b.path / names[i]}, *tokenizer).content_sha256);
  }
  CHECK(llmft::test::read_file_bytes(a.path / "NOTICE").find("WordNet 3.0 Copyright 2006 by Princeton University") !=
        std::string::npos);
  // No word is in both splits.
  std::set<std::string> train_words;
  const std::string train = llmft::test::read_file_bytes(a.path / "train.jsonl");
  const std::string marker = "Define the word '";
  for (std::size_t at = 0; (at = train.find(marker, at)) != std::string::npos; ++at)
    train_words.insert(train.substr(at + marker.size(), train.find('\'', at + marker.size()) - at - marker.size()));
  CHECK(train_words.size() == 3000);
  const std::string eval = llmft::test::read_file_bytes(a.path / "eval.jsonl");
  for (std::size_t at = 0; (at = eval.find(marker, at)) != std::string::npos; ++at)
    CHECK(train_words.count(eval.substr(at + marker.size(), eval.find('\'', at + marker.size()) - at - marker.size())) == 0);
}
