#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "data/chat_template.h"
#include "data/dataset_records.h"
#include "data/json_records.h"
#include "data/sha256.h"
#include "data/shuffle.h"
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

// The template a (format, requested name, tokenizer) resolves to; throws when they do not fit.
std::string resolve_template(const DatasetOptions& options, const Tokenizer& tokenizer) {
  const std::string where = options.path.string() + ": template '" + options.template_name + "'";
  std::string name = options.template_name;
  if (name == "auto") {
    if (options.format == RecordFormat::kText) return "none";
    if (options.format == RecordFormat::kAlpaca) return "alpaca";
    const auto& jinja = tokenizer.chat_template();
    if (!jinja || jinja->find("<|im_start|>") == std::string::npos) {
      throw Error(where + ": the tokenizer has " + (jinja ? "a chat template llmft does not know" : "no chat template") +
                  "; name one with template=chatml");
    }
    return "chatml";
  }
  if (name != "chatml" && name != "alpaca" && name != "none") {
    throw Error(where + " is unknown (known: auto, " + kTemplateNames + ")");
  }
  const bool fits = (name == "chatml" && options.format != RecordFormat::kText) ||
                    (name == "alpaca" && options.format == RecordFormat::kAlpaca) ||
                    (name == "none" && options.format == RecordFormat::kText);
  if (!fits) throw Error(where + " cannot render " + format_name(options.format) + " records");
  return name;
}

struct Renderer {
  std::string name;
  std::optional<std::string> default_system;  // chatml
  bool add_bos = false;

  RenderedExample render(const DatasetRecord& record, RecordFormat format) const {
    if (name == "chatml") {
      if (format == RecordFormat::kAlpaca) {
        return render_chatml({{"user", alpaca_as_user_turn(record.instruction, record.input)},
                              {"assistant", record.output}},
                             default_system);
      }
      return render_chatml(record.messages, default_system);
    }
    if (name == "alpaca") return render_alpaca(record.instruction, record.input, record.output, add_bos);
    return render_plain(record.text, add_bos);
  }
};

Renderer make_renderer(const std::string& name, const DatasetOptions& options, const Tokenizer& tokenizer) {
  Renderer renderer{name, std::nullopt, tokenizer.add_bos()};
  const std::string where = options.path.string() + ": template " + name + ": the tokenizer has no ";
  if (name == "chatml") {
    for (const char* token : {"<|im_start|>", "<|im_end|>"})
      if (!tokenizer.token_to_id(token)) throw Error(where + token + " token");
    if (tokenizer.chat_template()) renderer.default_system = chatml_default_system(*tokenizer.chat_template());
    renderer.add_bos = false;  // apply_chat_template tokenizes without special tokens
  } else {
    if (!tokenizer.eos_id()) throw Error(where + "EOS token to end examples with");
    if (renderer.add_bos && !tokenizer.bos_id()) throw Error(where + "BOS token although it adds one");
  }
  return renderer;
}

// Tokenizes the whole rendered text at once (ids identical to tokenizing it in one call, as
// transformers does) and labels each token by where its bytes start: inside a supervised range or
// not. Byte-level BPE without a normalizer spells the text exactly, so the offsets are exact.
TokenizedSample tokenize(const RenderedExample& example, const Tokenizer& tokenizer, bool train_on_prompt,
                         const std::string& where) {
  TokenizedSample sample;
  if (example.prepend_bos) {
    sample.input_ids.push_back(*tokenizer.bos_id());
    sample.labels.push_back(kIgnoreIndex);
  }
  const std::vector<int32_t> ids = tokenizer.encode(example.text, /*add_special=*/false, /*parse_special=*/true);
  std::size_t offset = 0;
  std::size_t range = 0;
  for (int32_t id : ids) {
    while (range < example.supervised.size() && example.supervised[range].second <= offset) ++range;
    const bool supervised = range < example.supervised.size() && example.supervised[range].first <= offset;
    sample.input_ids.push_back(id);
    sample.labels.push_back(supervised || train_on_prompt ? id : kIgnoreIndex);
    offset += tokenizer.token_bytes(id).size();
  }
  if (offset != example.text.size()) {
    throw Error(where + ": the tokens do not spell the rendered text (" + std::to_string(offset) + " of " +
                std::to_string(example.text.size()) + " bytes): cannot align the loss mask");
  }
  if (example.append_eos) {
    sample.input_ids.push_back(*tokenizer.eos_id());
    sample.labels.push_back(*tokenizer.eos_id());
  }
  return sample;
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
  const Renderer renderer = make_renderer(dataset.template_used, options, tokenizer);
  DatasetStats& stats = dataset.stats;

  for_each_json_record(bytes, source, [&](const nlohmann::json& json, int64_t line) {
    ++stats.records;
    const DatasetRecord record = parse_record(json, options.format, source, line);
    const RenderedExample example = renderer.render(record, options.format);
    TokenizedSample sample =
        tokenize(example, tokenizer, options.train_on_prompt, source + ":" + std::to_string(line));
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
