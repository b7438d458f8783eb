#include "recipes/data_inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "data/batch.h"
#include "data/byte_unicode.h"
#include "data/shuffle.h"
#include "io/error.h"

namespace llmft::recipes {

int64_t nearest_rank(const std::vector<int64_t>& sorted, double percent) {
  if (sorted.empty()) throw Error("nearest_rank: no values");
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<int64_t>(std::ceil(percent / 100.0 * n));
  return sorted[static_cast<std::size_t>(std::clamp<int64_t>(rank, 1, int64_t(sorted.size())) - 1)];
}

LengthSummary summarize_lengths(std::vector<int64_t> lengths) {
  LengthSummary s;
  if (lengths.empty()) return s;
  std::sort(lengths.begin(), lengths.end());
  s.count = int64_t(lengths.size());
  s.min = lengths.front();
  s.max = lengths.back();
  s.median = nearest_rank(lengths, 50.0);
  s.p95 = nearest_rank(lengths, 95.0);
  s.mean = double(std::accumulate(lengths.begin(), lengths.end(), int64_t{0})) / double(s.count);
  return s;
}

std::vector<HistogramBin> length_histogram(const std::vector<int64_t>& lengths, int64_t max_seq_len,
                                           int64_t max_bins) {
  if (lengths.empty()) return {};
  const int64_t longest = std::max<int64_t>(*std::max_element(lengths.begin(), lengths.end()), 1);
  int64_t power = 1;
  while (power < longest) power *= 2;
  const int64_t upper = std::max<int64_t>(std::min(max_seq_len, power), longest);
  const int64_t bins_wanted = std::max<int64_t>(max_bins, 1);
  const int64_t width = (upper + bins_wanted - 1) / bins_wanted;
  const int64_t bin_count = (upper + width - 1) / width;
  std::vector<HistogramBin> bins(static_cast<std::size_t>(bin_count));
  for (int64_t i = 0; i < bin_count; ++i) {
    bins[std::size_t(i)].lo = i * width + 1;
    bins[std::size_t(i)].hi = std::min((i + 1) * width, upper);
  }
  for (int64_t length : lengths) {
    const int64_t i = std::clamp<int64_t>((length - 1) / width, 0, bin_count - 1);
    ++bins[std::size_t(i)].count;
  }
  return bins;
}

std::string format_histogram(const std::vector<HistogramBin>& bins, int bar_width) {
  int64_t total = 0, fullest = 0;
  std::size_t label_width = 0;
  for (const auto& b : bins) {
    total += b.count;
    fullest = std::max(fullest, b.count);
    label_width = std::max(label_width, (std::to_string(b.lo) + "-" + std::to_string(b.hi)).size());
  }
  std::string out;
  for (const auto& b : bins) {
    const std::string label = std::to_string(b.lo) + "-" + std::to_string(b.hi);
    // Round up so that a non-empty bin always shows at least one mark.
    const int64_t filled = fullest > 0 ? (b.count * bar_width + fullest - 1) / fullest : 0;
    char tail[64];
    std::snprintf(tail, sizeof tail, "| %lld (%.1f%%)\n", static_cast<long long>(b.count),
                  total > 0 ? 100.0 * double(b.count) / double(total) : 0.0);
    out += "  " + std::string(label_width - label.size(), ' ') + label + " |" + std::string(std::size_t(filled), '#') +
           std::string(std::size_t(bar_width - filled), ' ') + tail;
  }
  return out;
}

std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> out;
  if (n <= 0 || count <= 0) return out;
  out.push_back(0);
  if (count == 1) return out;
  for (int64_t i : data::shuffled_indices(n, seed)) {
    if (int64_t(out.size()) >= count) break;
    if (i != 0) out.push_back(i);
  }
  return out;
}

std::vector<MarkedSpan> marked_spans(const data::TokenizedSample& sample, const data::Tokenizer& tokenizer) {
  // Bytes of every token, each byte remembering whether its token is masked; then walk the bytes
  // by UTF-8 character so that a character split across tokens is never split across spans.
  std::string bytes;
  std::vector<bool> masked;
  for (std::size_t i = 0; i < sample.input_ids.size(); ++i) {
    const std::string piece = tokenizer.token_bytes(sample.input_ids[i]);
    bytes += piece;
    masked.insert(masked.end(), piece.size(), i < sample.labels.size() && sample.labels[i] == data::kIgnoreIndex);
  }
  std::vector<MarkedSpan> spans;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t length = data::utf8_char_length(bytes, pos);
    std::string text;
    if (length == 0) {
      length = data::utf8_invalid_length(bytes, pos);
      data::append_utf8(text, U'\uFFFD');
    } else {
      text = bytes.substr(pos, length);
    }
    if (spans.empty() || spans.back().masked != masked[pos]) spans.push_back({"", masked[pos]});
    spans.back().text += text;
    pos += length;
  }
  return spans;
}

std::string render_marked(const std::vector<MarkedSpan>& spans, MarkStyle style) {
  std::string out;
  for (const auto& span : spans) {
    if (!span.masked) {
      out += span.text;
    } else if (style == MarkStyle::kDim) {
      out += "\x1b[2m" + span.text + "\x1b[22m";
    } else {
      out += kMaskOpen + span.text + kMaskClose;
    }
  }
  return out;
}

DatasetReport inspect_dataset(const data::TokenizedDataset& dataset, const data::Tokenizer& tokenizer,
                              const ReportOptions& options) {
  DatasetReport r;
  r.name = options.name;
  r.path = options.path;
  r.template_used = dataset.template_used;
  r.content_sha256 = dataset.content_sha256;
  r.cache_note = dataset.cache_note;
  r.stats = dataset.stats;
  r.examples = int64_t(dataset.samples.size());
  r.max_seq_len = options.max_seq_len;
  const int64_t tokenized = r.examples + r.stats.dropped + options.split_sibling_examples;
  r.truncated_percent = tokenized > 0 ? 100.0 * double(r.stats.truncated) / double(tokenized) : 0.0;
  r.supervised_percent =
      r.stats.tokens > 0 ? 100.0 * double(r.stats.supervised_tokens) / double(r.stats.tokens) : 0.0;

  std::vector<int64_t> lengths;
  lengths.reserve(dataset.samples.size());
  for (const auto& sample : dataset.samples) lengths.push_back(int64_t(sample.input_ids.size()));
  r.histogram = length_histogram(lengths, options.max_seq_len);
  r.lengths = summarize_lengths(std::move(lengths));

  for (int64_t i : sample_indices(r.examples, options.samples, options.seed)) {
    const auto& sample = dataset.samples[std::size_t(i)];
    r.samples.push_back({i, int64_t(sample.input_ids.size()), sample.supervised_tokens(),
                         marked_spans(sample, tokenizer)});
  }
  return r;
}

nlohmann::json report_json(const DatasetReport& r) {
  nlohmann::json histogram = nlohmann::json::array();
  for (const auto& b : r.histogram) histogram.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}});
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : r.samples) {
    nlohmann::json spans = nlohmann::json::array();
    for (const auto& span : s.spans) spans.push_back({{"text", span.text}, {"masked", span.masked}});
    samples.push_back({{"index", s.index},
                       {"tokens", s.tokens},
                       {"supervised_tokens", s.supervised_tokens},
                       {"text", render_marked(s.spans, MarkStyle::kBrackets)},
                       {"spans", spans}});
  }
  return {
      {"path", r.path},
      {"template", r.template_used},
      {"sha256", r.content_sha256},
      {"token_cache", r.cache_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.cache_note)},
      {"max_seq_len", r.max_seq_len},
      {"records", r.stats.records},
      {"examples", r.examples},
      {"truncated", r.stats.truncated},
      {"dropped", r.stats.dropped},
      {"skipped", r.stats.skipped},
      {"skip_examples", r.stats.skip_examples},
      {"tokens", r.stats.tokens},
      {"supervised_tokens", r.stats.supervised_tokens},
      {"truncated_percent", r.truncated_percent},
      {"supervised_percent", r.supervised_percent},
      {"lengths",
       {{"min", r.lengths.min},
        {"median", r.lengths.median},
        {"p95", r.lengths.p95},
        {"max", r.lengths.max},
        {"mean", r.lengths.mean}}},
      {"histogram", histogram},
      {"samples", samples},
  };
}

}  // namespace llmft::recipes
