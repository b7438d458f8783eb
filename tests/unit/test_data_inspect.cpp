// `llmft data inspect`'s computations: nearest-rank percentiles, the length histogram, the seeded
// choice of examples, and examples rendered back to text with their masked spans marked.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/bpe_pretokenizer.h"
#include "data/bpe_tokenizer.h"
#include "data/byte_unicode.h"
#include "recipes/data_inspect.h"
#include "tests/support/catch.h"

using namespace llmft::recipes;
using llmft::data::kIgnoreIndex;
using llmft::data::TokenizedSample;
using llmft::test::Contains;

namespace {

using Lengths = std::vector<int64_t>;
constexpr int32_t kImStart = 256;  // the first id after the 256 byte tokens

// Byte tokens (id = byte value) plus the control token <|im_start|>: ids are easy to write by hand.
llmft::data::BpeTokenizer byte_tokenizer() {
  llmft::data::BpeVocab vocab;
  vocab.source = "test vocab";
  for (unsigned b = 0; b < 256; ++b) vocab.tokens.emplace_back(llmft::data::byte_spelling(static_cast<unsigned char>(b)));
  vocab.tokens.emplace_back("<|im_start|>");
  vocab.kinds.assign(vocab.tokens.size(), llmft::data::TokenKind::Normal);
  vocab.kinds[kImStart] = llmft::data::TokenKind::Control;
  vocab.pretokenizer = llmft::data::find_pretokenizer_family("gpt-2")->patterns;
  return llmft::data::BpeTokenizer(std::move(vocab));
}

// One token per byte of `masked_text`, labeled -100, then one per byte of `supervised_text`.
TokenizedSample sample_of(const std::string& masked_text, const std::string& supervised_text) {
  TokenizedSample s;
  for (unsigned char c : masked_text) {
    s.input_ids.push_back(c);
    s.labels.push_back(kIgnoreIndex);
  }
  for (unsigned char c : supervised_text) {
    s.input_ids.push_back(c);
    s.labels.push_back(c);
  }
  return s;
}

}  // namespace

TEST_CASE("percentiles are nearest-rank and always an observed length", "[data][inspect]") {
  const Lengths sorted{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(nearest_rank(sorted, 50) == 5);  // ceil(0.5 * 10) = 5th smallest: the lower middle
  CHECK(nearest_rank(sorted, 95) == 10);
  CHECK(nearest_rank(sorted, 90) == 9);
  CHECK(nearest_rank(sorted, 100) == 10);
  CHECK(nearest_rank(sorted, 0.1) == 1);
  CHECK(nearest_rank({7}, 50) == 7);

  const LengthSummary s = summarize_lengths({30, 10, 20, 40, 1000});
  CHECK(s.count == 5);
  CHECK(s.min == 10);
  CHECK(s.median == 30);
  CHECK(s.p95 == 1000);
  CHECK(s.max == 1000);
  CHECK(s.mean == Approx(220.0));
  CHECK(summarize_lengths({}).count == 0);
}

TEST_CASE("the length histogram covers 1..max_seq_len in equal bins, or less when data is short",
          "[data][inspect]") {
  // Lengths reaching max_seq_len (128): 16 bins of 8; the truncated ones land in the last bin.
  const auto full = length_histogram({1, 8, 9, 64, 128, 128}, 128);
  REQUIRE(full.size() == 16);
  CHECK(full[0].lo == 1);
  CHECK(full[0].hi == 8);
  CHECK(full[0].count == 2);
  CHECK(full[1].lo == 9);
  CHECK(full[1].count == 1);
  CHECK(full[7].hi == 64);
  CHECK(full[7].count == 1);
  CHECK(full[15].lo == 121);
  CHECK(full[15].hi == 128);
  CHECK(full[15].count == 2);

  // Short data under a long max_seq_len: bins up to the next power of two above the longest.
  const auto short_data = length_histogram({20, 25, 40, 50}, 2048);
  REQUIRE(short_data.size() == 16);
  CHECK(short_data.back().hi == 64);
  int64_t total = 0;
  for (const auto& b : short_data) total += b.count;
  CHECK(total == 4);

  // A max_seq_len that does not divide evenly: the last bin is shorter and ends at max_seq_len.
  const auto uneven = length_histogram({100, 3}, 100);
  CHECK(uneven.front().hi == 7);
  CHECK(uneven.back().hi == 100);
  CHECK(uneven.back().count == 1);
  for (std::size_t i = 1; i < uneven.size(); ++i) CHECK(uneven[i].lo == uneven[i - 1].hi + 1);

  // Fewer lengths than bins: one bin per length.
  const auto tiny = length_histogram({1, 2, 3}, 4);
  REQUIRE(tiny.size() == 4);
  CHECK(tiny[3].count == 0);
  CHECK(length_histogram({}, 128).empty());
}

TEST_CASE("histogram bars are scaled to the fullest bin and every non-empty bin shows", "[data][inspect]") {
  const std::vector<HistogramBin> bins{{1, 8, 100}, {9, 16, 1}, {17, 24, 0}, {25, 32, 50}};
  const std::string text = format_histogram(bins, 10);
  CHECK(text ==
        "    1-8 |##########| 100 (66.2%)\n"
        "   9-16 |#         | 1 (0.7%)\n"
        "  17-24 |          | 0 (0.0%)\n"
        "  25-32 |#####     | 50 (33.1%)\n");
}

TEST_CASE("samples are the first example and distinct seeded others", "[data][inspect]") {
  const auto picked = sample_indices(1000, 4, 42);
  REQUIRE(picked.size() == 4);
  CHECK(picked[0] == 0);
  CHECK(std::set<int64_t>(picked.begin(), picked.end()).size() == 4);
  for (int64_t i : picked) CHECK((i >= 0 && i < 1000));
  CHECK(sample_indices(1000, 4, 42) == picked);  // the same seed shows the same examples
  CHECK(sample_indices(1000, 4, 43) != picked);
  CHECK(sample_indices(3, 10, 42).size() == 3);  // never more than there are
  CHECK(sample_indices(1, 2, 42) == std::vector<int64_t>{0});
  CHECK(sample_indices(0, 2, 42).empty());
  CHECK(sample_indices(10, 0, 42).empty());
}

TEST_CASE("a rendered example marks its masked spans and spells special tokens", "[data][inspect]") {
  const auto tokenizer = byte_tokenizer();
  TokenizedSample s = sample_of("user: hi\n", "hello");
  s.input_ids.insert(s.input_ids.begin(), kImStart);
  s.labels.insert(s.labels.begin(), kIgnoreIndex);
  s.input_ids.push_back('\n');
  s.labels.push_back(kIgnoreIndex);

  const auto spans = marked_spans(s, tokenizer);
  REQUIRE(spans.size() == 3);
  CHECK(spans[0].text == "<|im_start|>user: hi\n");
  CHECK(spans[0].masked);
  CHECK(spans[1].text == "hello");
  CHECK_FALSE(spans[1].masked);
  CHECK(spans[2].text == "\n");
  CHECK(render_marked(spans, MarkStyle::kBrackets) == "⟦<|im_start|>user: hi\n⟧hello⟦\n⟧");
  CHECK(render_marked(spans, MarkStyle::kDim) == "\x1b[2m<|im_start|>user: hi\n\x1b[22mhello\x1b[2m\n\x1b[22m");

  // Everything supervised: no marks at all.
  const auto plain = marked_spans(sample_of("", "abc"), tokenizer);
  CHECK(render_marked(plain, MarkStyle::kBrackets) == "abc");
}

TEST_CASE("a character split between a masked and a supervised token stays whole", "[data][inspect]") {
  const auto tokenizer = byte_tokenizer();
  // "é" is C3 A9: its first byte masked, the second supervised. The character goes with its first byte.
  TokenizedSample s = sample_of("a\xC3", "\xA9z");
  const auto spans = marked_spans(s, tokenizer);
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].text == "a\xC3\xA9");
  CHECK(spans[0].masked);
  CHECK(spans[1].text == "z");
  // Bytes that are no character become U+FFFD.
  const auto broken = marked_spans(sample_of("", "x\xFF"), tokenizer);
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].text == "x\xEF\xBF\xBD");
  CHECK(llmft::data::is_valid_utf8(render_marked(broken, MarkStyle::kBrackets)));
}

TEST_CASE("a dataset report holds the dataset's counts, lengths and chosen examples", "[data][inspect]") {
  const auto tokenizer = byte_tokenizer();
  llmft::data::TokenizedDataset dataset;
  dataset.template_used = "chatml";
  dataset.content_sha256 = std::string(64, 'a');
  for (int i = 0; i < 9; ++i) dataset.samples.push_back(sample_of("Q" + std::string(std::size_t(i), 'q'), "A!"));
  dataset.stats.records = 11;
  dataset.stats.truncated = 2;
  dataset.stats.dropped = 1;
  dataset.stats.skipped = 1;
  dataset.stats.skip_examples = {"f.jsonl:3: malformed JSON"};
  for (const auto& s : dataset.samples) {
    dataset.stats.tokens += int64_t(s.input_ids.size());
    dataset.stats.supervised_tokens += s.supervised_tokens();
  }

  ReportOptions options;
  options.name = "train";
  options.path = "f.jsonl";
  options.max_seq_len = 16;
  options.samples = 2;
  options.seed = 7;
  const DatasetReport r = inspect_dataset(dataset, tokenizer, options);
  CHECK(r.examples == 9);
  CHECK(r.truncated_percent == Approx(20.0));  // 2 of 9 kept + 1 dropped
  CHECK(r.supervised_percent == Approx(100.0 * 18 / 63));
  CHECK(r.lengths.min == 3);
  CHECK(r.lengths.max == 11);
  CHECK(r.lengths.median == 7);
  REQUIRE(r.samples.size() == 2);
  CHECK(r.samples[0].index == 0);
  CHECK(render_marked(r.samples[0].spans, MarkStyle::kBrackets) == "⟦Q⟧A!");
  CHECK(r.samples[1].index == sample_indices(9, 2, 7)[1]);

  const auto json = report_json(r);
  CHECK(json["examples"] == 9);
  CHECK(json["records"] == 11);
  CHECK(json["skipped"] == 1);
  CHECK(json["skip_examples"][0] == "f.jsonl:3: malformed JSON");
  CHECK(json["tokens"] == 63);
  CHECK(json["supervised_tokens"] == 18);
  CHECK(json["lengths"]["p95"] == 11);
  CHECK(json["samples"][0]["text"] == "⟦Q⟧A!");
  CHECK(json["samples"][0]["spans"][1]["masked"] == false);
  int64_t binned = 0;
  for (const auto& b : json["histogram"]) binned += b["count"].get<int64_t>();
  CHECK(binned == 9);

  // Sharing a split: the whole file's truncation count over both parts.
  options.split_sibling_examples = 10;
  CHECK(inspect_dataset(dataset, tokenizer, options).truncated_percent == Approx(10.0));
}
