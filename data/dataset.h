#pragma once
// Dataset files -> tokenized training examples with prompt masking.
// Records are JSON objects, one per line (JSONL) or in a top-level JSON array, read as a stream.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/custom_template.h"
#include "data/tokenizer.h"

namespace llmft::data {

enum class RecordFormat {
  kText,      // {"text": "..."}: every token supervised
  kAlpaca,    // {"instruction", "input" (optional), "output"}: output supervised
  kChat,      // {"messages": [{"role": "system"|"user"|"assistant", "content"}, ...]}
  kShareGpt,  // {"conversations": [{"from": "system"|"human"|"gpt", "value"}, ...]}
};

enum class TruncationSide {
  kRight,  // keep the first max_seq_len tokens
  kLeft,   // keep the last max_seq_len tokens
  kDrop,   // leave the example out (counted as dropped)
};

struct DatasetOptions {
  std::filesystem::path path;
  RecordFormat format = RecordFormat::kChat;
  // "auto": the tokenizer's own chat template when it is a known one (chat/sharegpt), the Alpaca
  // prompt for alpaca, nothing for text. Otherwise a template name (see docs/chat-templates.md).
  std::string template_name = "auto";
  // The formats of template_name "custom" (the recipe's data.custom_template); unused otherwise.
  std::optional<CustomTemplate> custom_template = std::nullopt;
  int64_t max_seq_len = 2048;
  TruncationSide truncation = TruncationSide::kRight;  // for examples longer than max_seq_len
  bool train_on_prompt = false;
  // Records that cannot be read: fail (throw, naming file:line) or skip (counted in stats.skipped,
  // the first few reasons kept in stats.skip_examples).
  bool skip_bad_records = false;
  // Token cache folder (see data/token_cache.h); nullopt: always tokenize.
  std::optional<std::filesystem::path> cache_dir = std::nullopt;
  int threads = 0;  // tokenizing threads; 0: one per core
};

struct DatasetStats {
  int64_t records = 0;            // records read
  int64_t truncated = 0;          // examples cut to max_seq_len
  int64_t dropped = 0;            // examples left out: no supervised token after truncation, or too long to keep
  int64_t skipped = 0;            // records that could not be read (data.on_error: skip)
  std::vector<std::string> skip_examples;  // the first few skip reasons, "FILE:LINE: ..."
  int64_t tokens = 0;             // over kept examples
  int64_t supervised_tokens = 0;  // over kept examples
};

struct TokenizedDataset {
  std::vector<TokenizedSample> samples;  // file order
  DatasetStats stats;
  std::string template_used;   // the resolved template name ("chatml", "alpaca", "none", ...)
  std::string content_sha256;  // of the raw file bytes: recorded in run.json, keys caches
  std::string cache_note;      // what the token cache did ("reused FILE", "wrote FILE", "not written: ..."), or empty
  // Template problems found in the examples (data/dataset_lint.h): doubled BOS, an assistant turn
  // without end-of-turn token, turns truncated away. One line each, "FILE: ...".
  std::vector<std::string> warnings;
};

// Throws llmft::Error naming the file, line (and column for malformed JSON) and field.
TokenizedDataset load_dataset(const DatasetOptions& options, const Tokenizer& tokenizer);

// Deterministic held-out split: a seeded shuffle of the indices, the first round(fraction * n)
// (at least 1, leaving at least 1) go to eval; both keep file order. fraction in (0, 1).
struct SplitDataset {
  TokenizedDataset train;
  TokenizedDataset eval;
};
SplitDataset split_for_eval(TokenizedDataset dataset, double fraction, uint64_t seed);

}  // namespace llmft::data
