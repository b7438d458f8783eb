#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "data/dataset_records.h"
#include "data/example_tokenizer.h"
#include "data/json_records.h"
#include "data/sha256.h"
#include "data/shuffle.h"
#include "data/template_renderer.h"
#include "io/error.h"

namespace llmft::data {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the dataset file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

DatasetStats stats_of(const std::vector<TokenizedSample>& samples) {
  DatasetStats stats;
  stats.records = static_cast<int64_t>(samples.size());
  for (const auto& sample : samples) {
    stats.tokens += static_cast<int64_t>(sample.input_ids.size());
    stats.supervised_tokens += sample.supervised_tokens();
  }
  return stats;
}

}  // namespace

TokenizedDataset load_dataset(const DatasetOptions& options, const Tokenizer& tokenizer) {
  if (options.max_seq_len < 2) {
    throw Error(options.path.string() + ": max_seq_len must be at least 2, got " + std::to_string(options.max_seq_len));
  }
  const std::string source = options.path.string();
  const std::string bytes = read_bytes(options.path);
  TokenizedDataset dataset;
  dataset.content_sha256 = sha256_hex(bytes);
  dataset.template_used = resolve_template(options, tokenizer);
  const TemplateRenderer renderer = make_renderer(dataset.template_used, options, tokenizer);
  DatasetStats& stats = dataset.stats;

  for_each_json_record(bytes, source, [&](const nlohmann::json& json, int64_t line) {
    ++stats.records;
    const DatasetRecord record = parse_record(json, options.format, source, line);
    const RenderedExample example = renderer.render(record, options.format);
    TokenizedSample sample =
        tokenize_example(example, tokenizer, options.train_on_prompt, source + ":" + std::to_string(line));
    if (static_cast<int64_t>(sample.input_ids.size()) > options.max_seq_len) {
      sample.input_ids.resize(static_cast<std::size_t>(options.max_seq_len));
      sample.labels.resize(static_cast<std::size_t>(options.max_seq_len));
      ++stats.truncated;
    }
    const int64_t supervised = sample.supervised_tokens();
    if (supervised == 0) {
      ++stats.dropped;
      return;
    }
    stats.tokens += static_cast<int64_t>(sample.input_ids.size());
    stats.supervised_tokens += supervised;
    dataset.samples.push_back(std::move(sample));
  });
  if (stats.records == 0) throw Error(source + ": the dataset has no records");
  return dataset;
}

SplitDataset split_for_eval(TokenizedDataset dataset, double fraction, uint64_t seed) {
  const auto n = static_cast<int64_t>(dataset.samples.size());
  if (!(fraction > 0.0 && fraction < 1.0)) {
    throw Error("eval split fraction must be in (0, 1), got " + std::to_string(fraction));
  }
  if (n < 2) throw Error("cannot split " + std::to_string(n) + " example(s) into train and eval");
  const int64_t eval_count = std::clamp<int64_t>(std::llround(fraction * double(n)), 1, n - 1);
  const std::vector<int64_t> order = shuffled_indices(n, seed);
  std::vector<bool> to_eval(static_cast<std::size_t>(n), false);
  for (int64_t i = 0; i < eval_count; ++i) to_eval[order[i]] = true;

  SplitDataset split;
  for (TokenizedDataset* part : {&split.train, &split.eval}) {
    part->template_used = dataset.template_used;
    part->content_sha256 = dataset.content_sha256;
  }
  for (int64_t i = 0; i < n; ++i) {
    (to_eval[i] ? split.eval : split.train).samples.push_back(std::move(dataset.samples[i]));
  }
  // Per-part counts of what each holds; truncation happened before the split and stays with train.
  split.train.stats = stats_of(split.train.samples);
  split.eval.stats = stats_of(split.eval.samples);
  split.train.stats.truncated = dataset.stats.truncated;
  split.train.stats.dropped = dataset.stats.dropped;
  return split;
}

}  // namespace llmft::data
