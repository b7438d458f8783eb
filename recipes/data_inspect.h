#pragma once
// `llmft data inspect`: what a tokenized dataset holds, computed without a model. Token-length
// statistics and histogram, the dataset's counts, and examples rendered back to text with the
// masked (label -100) spans marked, as a report that prints as text (cli/cmd_data.cpp) or JSON.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/tokenizer.h"

namespace llmft::recipes {

// Token lengths of the kept examples. Percentiles are nearest-rank (always an observed length):
// the p-th is the ceil(p/100 * n)-th smallest, so the median of an even count is the lower middle.
struct LengthSummary {
  int64_t count = 0;
  int64_t min = 0;
  int64_t median = 0;
  int64_t p95 = 0;
  int64_t max = 0;
  double mean = 0.0;
};
// `sorted` ascending and not empty; percent in (0, 100].
int64_t nearest_rank(const std::vector<int64_t>& sorted, double percent);
LengthSummary summarize_lengths(std::vector<int64_t> lengths);

// Lengths lo..hi (inclusive) and how many examples have one.
struct HistogramBin {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t count = 0;
};
// Equal-width bins (at most max_bins) from 1 up to `upper`: max_seq_len, or the next power of two
// above the longest example when that is shorter, so that short data does not land in one bin.
// A length above the last bin is counted in it. No lengths: no bins.
std::vector<HistogramBin> length_histogram(const std::vector<int64_t>& lengths, int64_t max_seq_len,
                                           int64_t max_bins = 16);
// One line per bin: "  lo-hi |#####     | count (share%)", bars scaled to the fullest bin.
std::string format_histogram(const std::vector<HistogramBin>& bins, int bar_width = 40);

// Which examples to show: the first, then count-1 others drawn from a shuffle seeded with `seed`
// (the recipe's train.seed), so the same recipe always shows the same examples.
std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed);

// A run of text whose tokens are all masked (label -100: not trained on) or all supervised.
struct MarkedSpan {
  std::string text;
  bool masked = false;
};
// The example's tokens as text, special tokens spelled literally, split where masking changes. A
// UTF-8 character cut between tokens goes with its first byte's token; invalid bytes become U+FFFD.
std::vector<MarkedSpan> marked_spans(const data::TokenizedSample& sample, const data::Tokenizer& tokenizer);

enum class MarkStyle {
  kBrackets,  // masked text wrapped in ⟦ ⟧ (files, pipes, tests)
  kDim,       // masked text dimmed with ANSI SGR 2 (terminals)
};
inline constexpr const char* kMaskOpen = "⟦";
inline constexpr const char* kMaskClose = "⟧";
std::string render_marked(const std::vector<MarkedSpan>& spans, MarkStyle style);

struct RenderedSample {
  int64_t index = 0;  // position in the dataset (file order)
  int64_t tokens = 0;
  int64_t supervised_tokens = 0;
  std::vector<MarkedSpan> spans;
};

struct DatasetReport {
  std::string name;  // "train" or "eval"
  std::string path;
  std::string template_used;
  std::string content_sha256;
  std::string cache_note;  // what the token cache did, or empty
  data::DatasetStats stats;
  int64_t examples = 0;
  int64_t max_seq_len = 0;
  double truncated_percent = 0.0;   // of the examples tokenized (kept + dropped)
  double supervised_percent = 0.0;  // of the kept examples' tokens
  LengthSummary lengths;
  std::vector<HistogramBin> histogram;
  std::vector<RenderedSample> samples;
};

struct ReportOptions {
  std::string name;
  std::string path;
  int64_t max_seq_len = 2048;
  int64_t samples = 2;
  uint64_t seed = 42;
  // Examples tokenized with these but held elsewhere: with data.eval_split the truncation and drop
  // counts are of the whole file and stay with train, so its share is taken over both parts.
  int64_t split_sibling_examples = 0;
};
DatasetReport inspect_dataset(const data::TokenizedDataset& dataset, const data::Tokenizer& tokenizer,
                              const ReportOptions& options);

// The report as JSON; samples carry their spans and the text with ⟦ ⟧ marks.
nlohmann::json report_json(const DatasetReport& report);

}  // namespace llmft::recipes
