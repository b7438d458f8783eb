#include "data/dataset.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "data/dataset_lint.h"
#include "data/dataset_records.h"
#include "data/example_tokenizer.h"
#include "data/json_records.h"
#include "data/sha256.h"
#include "data/shuffle.h"
#include "data/template_renderer.h"
#include "data/token_cache.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace llmft::data {
namespace {

namespace fs = std::filesystem;

DatasetStats stats_of(const std::vector<TokenizedSample>& samples) {
  DatasetStats stats;
  stats.records = static_cast<int64_t>(samples.size());
  for (const auto& sample : samples) {
    stats.tokens += static_cast<int64_t>(sample.input_ids.size());
    stats.supervised_tokens += sample.supervised_tokens();
  }
  return stats;
}

// What became of one record.
struct RecordOutcome {
  enum Kind { kKept, kDropped, kSkipped, kFailed } kind = kFailed;
  TokenizedSample sample;
  bool truncated = false;
  std::string error;  // kSkipped / kFailed: "FILE:LINE...: problem"
  LintCounts lint;    // examples are numbered by their line in the file
};

// Cuts `sample` to max_len tokens as the policy says; false when it is to be dropped instead.
bool truncate(TokenizedSample& sample, int64_t max_len, TruncationSide side, std::optional<int32_t> bos) {
  const auto n = static_cast<int64_t>(sample.input_ids.size());
  if (n <= max_len) return true;
  switch (side) {
    case TruncationSide::kDrop:
      return false;
    case TruncationSide::kRight:
      sample.input_ids.resize(static_cast<std::size_t>(max_len));
      sample.labels.resize(static_cast<std::size_t>(max_len));
      return true;
    case TruncationSide::kLeft: {
      // The last tokens are kept; a leading BOS stays first, as the model always saw one there.
      const bool keep_bos = bos && sample.input_ids.front() == *bos;
      const int64_t cut_from = keep_bos ? 1 : 0;
      const int64_t cut = n - max_len;
      sample.input_ids.erase(sample.input_ids.begin() + cut_from, sample.input_ids.begin() + cut_from + cut);
      sample.labels.erase(sample.labels.begin() + cut_from, sample.labels.begin() + cut_from + cut);
      if (keep_bos) sample.labels.front() = kIgnoreIndex;
      return true;
    }
  }
  return true;
}

RecordOutcome process_record(std::string_view bytes, const JsonSpan& span, const DatasetOptions& options,
                             const Tokenizer& tokenizer, const TemplateRenderer& renderer, const LintRules& lint_rules,
                             const std::string& source) {
  RecordOutcome outcome;
  const std::string where = source + ":" + std::to_string(span.line);
  RenderedExample example;
  TokenizedSample full;  // prompt masked, before truncation: what the lint reads turns from
  try {
    const DatasetRecord record = parse_record(parse_json_span(bytes, span, source), options.format, source, span.line);
    example = renderer.render(record, options.format, where);
    full = tokenize_example(example, tokenizer, /*train_on_prompt=*/false, where);
  } catch (const Error& e) {
    outcome.kind = options.skip_bad_records ? RecordOutcome::kSkipped : RecordOutcome::kFailed;
    outcome.error = e.what();
    return outcome;
  }
  outcome.sample = full;
  outcome.truncated = static_cast<int64_t>(full.input_ids.size()) > options.max_seq_len;
  const bool kept = truncate(outcome.sample, options.max_seq_len, options.truncation, tokenizer.bos_id());
  // A dropped example is counted as dropped; its turns are not reported again as truncated.
  lint_sample(full, kept ? outcome.sample : full, lint_rules, span.line, outcome.lint);
  if (options.train_on_prompt) {
    // Every token is a target; a prepended BOS stays unlabelled (position 0 is never a target).
    auto& s = outcome.sample;
    for (std::size_t i = 0; i < s.labels.size(); ++i) s.labels[i] = s.input_ids[i];
    if (example.prepend_bos && !s.labels.empty()) s.labels[0] = kIgnoreIndex;
  }
  outcome.kind = kept && outcome.sample.supervised_tokens() > 0 ? RecordOutcome::kKept : RecordOutcome::kDropped;
  if (outcome.kind == RecordOutcome::kDropped) outcome.sample = {};
  return outcome;
}

int thread_count(int requested, std::size_t records) {
  if (requested > 0) return requested;
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // Starting threads costs more than a small file takes to tokenize.
  return records < 256 ? 1 : cores;
}

// Parses, renders and tokenizes every record, several threads taking blocks of records in turn;
// the result is in file order and independent of the thread count.
TokenizedDataset tokenize_records(std::string_view bytes, const DatasetOptions& options, const Tokenizer& tokenizer,
                                  const std::string& template_used) {
  const std::string source = options.path.string();
  const TemplateRenderer renderer = make_renderer(template_used, options, tokenizer);
  const LintRules rules = lint_rules(renderer, tokenizer);
  const std::vector<JsonSpan> spans = json_record_spans(bytes, source);
  if (spans.empty()) throw Error(source + ": the dataset has no records");

  std::vector<RecordOutcome> outcomes(spans.size());
  constexpr std::size_t kBlock = 64;
  std::atomic<std::size_t> next_block{0};
  std::atomic<std::size_t> first_failure{spans.size()};  // lowest failed index: later work is moot
  auto work = [&] {
    for (std::size_t begin; (begin = next_block.fetch_add(kBlock)) < spans.size();) {
      if (begin > first_failure.load()) return;
      const std::size_t end = std::min(spans.size(), begin + kBlock);
      for (std::size_t i = begin; i < end; ++i) {
        outcomes[i] = process_record(bytes, spans[i], options, tokenizer, renderer, rules, source);
        if (outcomes[i].kind == RecordOutcome::kFailed) {
          std::size_t seen = first_failure.load();
          while (i < seen && !first_failure.compare_exchange_weak(seen, i)) {
          }
          break;
        }
      }
    }
  };
  const int threads = thread_count(options.threads, spans.size());
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (first_failure.load() < spans.size()) throw Error(outcomes[first_failure.load()].error);

  TokenizedDataset dataset;
  dataset.template_used = template_used;
  DatasetStats& stats = dataset.stats;
  constexpr std::size_t kSkipExamples = 5;
  LintCounts lint;
  for (RecordOutcome& outcome : outcomes) {
    ++stats.records;
    merge_lint_counts(lint, outcome.lint);
    if (outcome.kind == RecordOutcome::kSkipped) {
      ++stats.skipped;
      if (stats.skip_examples.size() < kSkipExamples) stats.skip_examples.push_back(std::move(outcome.error));
      continue;
    }
    stats.truncated += outcome.truncated;
    if (outcome.kind == RecordOutcome::kDropped) {
      ++stats.dropped;
      continue;
    }
    stats.tokens += static_cast<int64_t>(outcome.sample.input_ids.size());
    stats.supervised_tokens += outcome.sample.supervised_tokens();
    dataset.samples.push_back(std::move(outcome.sample));
  }
  dataset.warnings = lint_warnings(lint, source);
  return dataset;
}

}  // namespace

TokenizedDataset load_dataset(const DatasetOptions& options, const Tokenizer& tokenizer) {
  if (options.max_seq_len < 2) {
    throw Error(options.path.string() + ": max_seq_len must be at least 2, got " + std::to_string(options.max_seq_len));
  }
  const std::string source = options.path.string();
  // Mapped, not read: the kernel pages the file in as it is scanned and may drop pages already
  // used, so a dataset larger than memory can still be hashed and tokenized.
  const std::shared_ptr<io::MappedFile> file = io::MappedFile::open(options.path);
  const std::string_view bytes(reinterpret_cast<const char*>(file->data()), file->size());
  const std::string content_sha256 = sha256_hex(bytes);
  const std::string template_used = resolve_template(options, tokenizer);

  std::string cache_key;
  std::filesystem::path cache_file;
  std::string cache_problem;
  if (options.cache_dir) {
    cache_key = token_cache_key(options, tokenizer, content_sha256, template_used);
    cache_file = token_cache_file(*options.cache_dir, cache_key);
    if (auto cached = read_token_cache(cache_file, cache_key, &cache_problem)) {
      cached->cache_note = "reused " + cache_file.string();
      return std::move(*cached);
    }
  }

  TokenizedDataset dataset = tokenize_records(bytes, options, tokenizer, template_used);
  dataset.content_sha256 = content_sha256;
  if (options.cache_dir) {
    try {
      write_token_cache(cache_file, cache_key, dataset);
      dataset.cache_note = "wrote " + cache_file.string();
    } catch (const Error& e) {
      // A cache that cannot be written costs time on the next run, never this run.
      dataset.cache_note = std::string("not written: ") + e.what();
    }
    if (!cache_problem.empty()) dataset.cache_note += " (replaced " + cache_problem + ")";
  }
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
  split.train.stats.skipped = dataset.stats.skipped;
  split.train.stats.skip_examples = dataset.stats.skip_examples;
  split.train.cache_note = dataset.cache_note;
  split.train.warnings = dataset.warnings;
  return split;
}

}  // namespace llmft::data
