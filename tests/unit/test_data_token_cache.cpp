// The token cache: a second load reuses the first one's tokens exactly; anything that changes the
// tokens changes the key; damaged files are ignored and rewritten, never trusted.
#include <fstream>
#include <string>

#include "data/bpe_pretokenizer.h"
#include "data/bpe_tokenizer.h"
#include "data/byte_unicode.h"
#include "data/dataset.h"
#include "data/token_cache.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
namespace fs = std::filesystem;
using llmft::test::Contains;

namespace {

BpeTokenizer byte_tokenizer(bool add_bos = false) {
  BpeVocab vocab;
  vocab.source = "byte-vocab";
  for (int b = 0; b < 256; ++b) vocab.tokens.emplace_back(byte_spelling(static_cast<unsigned char>(b)));
  vocab.tokens.emplace_back("<|endoftext|>");
  vocab.kinds.assign(256, TokenKind::Normal);
  vocab.kinds.push_back(TokenKind::Control);
  vocab.pretokenizer = find_pretokenizer_family("gpt-2")->patterns;
  vocab.specials.eos_id = 256;
  vocab.specials.bos_id = 256;
  vocab.specials.add_bos = add_bos;
  return BpeTokenizer(std::move(vocab));
}

DatasetOptions text_options(const fs::path& data, const fs::path& cache) {
  DatasetOptions options;
  options.path = data;
  options.format = RecordFormat::kText;
  options.max_seq_len = 8;
  options.cache_dir = cache;
  return options;
}

void expect_same(const TokenizedDataset& a, const TokenizedDataset& b) {
  REQUIRE(a.samples.size() == b.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i) {
    CHECK(a.samples[i].input_ids == b.samples[i].input_ids);
    CHECK(a.samples[i].labels == b.samples[i].labels);
  }
  CHECK(a.stats.records == b.stats.records);
  CHECK(a.stats.truncated == b.stats.truncated);
  CHECK(a.stats.tokens == b.stats.tokens);
  CHECK(a.stats.supervised_tokens == b.stats.supervised_tokens);
  CHECK(a.template_used == b.template_used);
  CHECK(a.content_sha256 == b.content_sha256);
}

}  // namespace

TEST_CASE("the token cache is written once and reused exactly", "[data][cache]") {
  llmft::test::TempDir dir;
  const fs::path data = dir.path / "t.jsonl";
  std::ofstream(data) << "{\"text\": \"hello world\"}\n{\"text\": \"ab\"}\n{\"text\": \"\"}\n";
  const auto tokenizer = byte_tokenizer();
  const DatasetOptions options = text_options(data, dir.path / "cache");

  const TokenizedDataset first = load_dataset(options, tokenizer);
  CHECK_THAT(first.cache_note, Contains("wrote " + (dir.path / "cache").string()));
  const TokenizedDataset second = load_dataset(options, tokenizer);
  CHECK_THAT(second.cache_note, Contains("reused "));
  expect_same(first, second);
  CHECK(first.stats.truncated == 1);
  CHECK(first.stats.dropped == 1);  // the empty text has no target
  CHECK(first.samples.size() == 2);

  // Each of these changes the tokens, so each gets its own key (and file).
  const std::string key = token_cache_key(options, tokenizer, first.content_sha256, "none");
  DatasetOptions longer = options;
  longer.max_seq_len = 9;
  DatasetOptions left = options;
  left.truncation = TruncationSide::kLeft;
  DatasetOptions prompt = options;
  prompt.train_on_prompt = true;
  const auto with_bos = byte_tokenizer(/*add_bos=*/true);
  CHECK(token_cache_key(longer, tokenizer, first.content_sha256, "none") != key);
  CHECK(token_cache_key(left, tokenizer, first.content_sha256, "none") != key);
  CHECK(token_cache_key(prompt, tokenizer, first.content_sha256, "none") != key);
  CHECK(token_cache_key(options, with_bos, first.content_sha256, "none") != key);
  CHECK(token_cache_key(options, tokenizer, std::string(64, '0'), "none") != key);
  CHECK(token_cache_key(options, tokenizer, first.content_sha256, "none") == key);

  // Changed data bytes: a new key, so the new content is tokenized, not the old reused.
  std::ofstream(data) << "{\"text\": \"other\"}\n";
  const TokenizedDataset changed = load_dataset(options, tokenizer);
  CHECK_THAT(changed.cache_note, Contains("wrote "));
  REQUIRE(changed.samples.size() == 1);
  CHECK(changed.samples[0].input_ids == std::vector<int32_t>{'o', 't', 'h', 'e', 'r', 256});
}

TEST_CASE("a damaged token cache file is ignored and rewritten", "[data][cache]") {
  llmft::test::TempDir dir;
  const fs::path data = dir.path / "t.jsonl";
  std::ofstream(data) << "{\"text\": \"hello world\"}\n{\"text\": \"ab\"}\n";
  const auto tokenizer = byte_tokenizer();
  const DatasetOptions options = text_options(data, dir.path / "cache");
  const TokenizedDataset first = load_dataset(options, tokenizer);
  const fs::path file =
      token_cache_file(*options.cache_dir, token_cache_key(options, tokenizer, first.content_sha256, "none"));
  REQUIRE(fs::exists(file));

  fs::resize_file(file, fs::file_size(file) - 4);  // as if a copy was cut short
  std::string problem;
  CHECK_FALSE(read_token_cache(file, token_cache_key(options, tokenizer, first.content_sha256, "none"), &problem));
  CHECK_THAT(problem, Contains("does not match its header"));
  const TokenizedDataset again = load_dataset(options, tokenizer);
  CHECK_THAT(again.cache_note, Contains("wrote "));
  CHECK_THAT(again.cache_note, Contains("replaced "));
  expect_same(first, again);
  CHECK(read_token_cache(file, "another key", &problem) == std::nullopt);
  CHECK_THAT(problem, Contains("holds another key"));

  std::ofstream(file, std::ios::binary) << "garbage";
  CHECK_FALSE(read_token_cache(file, "k", &problem));
  CHECK_THAT(problem, Contains("not a token cache file"));
}

TEST_CASE("an unwritable token cache folder costs the cache, not the run", "[data][cache]") {
  llmft::test::TempDir dir;
  const fs::path data = dir.path / "t.jsonl";
  std::ofstream(data) << "{\"text\": \"hello\"}\n";
  const fs::path blocker = dir.path / "not-a-dir";
  std::ofstream(blocker) << "x";
  const auto tokenizer = byte_tokenizer();
  const TokenizedDataset loaded = load_dataset(text_options(data, blocker / "cache"), tokenizer);
  CHECK(loaded.samples.size() == 1);
  CHECK_THAT(loaded.cache_note, Contains("not written: "));
}
