#pragma once
// Which template renders a dataset's records, and rendering one record with it.
#include <optional>
#include <string>

#include "data/chat_template.h"
#include "data/dataset.h"
#include "data/dataset_records.h"
#include "data/tokenizer.h"

namespace llmft::data {

// The template a (format, requested name, tokenizer) resolves to; "auto" picks the tokenizer's own
// chat template when it is a known one. Throws llmft::Error naming options.path when they do not fit.
std::string resolve_template(const DatasetOptions& options, const Tokenizer& tokenizer);

struct TemplateRenderer {
  std::string name;
  std::optional<std::string> default_system;  // chatml
  bool add_bos = false;

  RenderedExample render(const DatasetRecord& record, RecordFormat format) const;
};

// Checks the tokenizer has the tokens template `name` needs; throws llmft::Error naming them.
TemplateRenderer make_renderer(const std::string& name, const DatasetOptions& options, const Tokenizer& tokenizer);

}  // namespace llmft::data
