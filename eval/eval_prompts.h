#pragma once
// Prompt evaluation: the same eval file under several prompt variants (chat template x system
// prompt), so their losses can be compared side by side.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace llmft::eval {

struct PromptVariant {
  std::string template_name = "auto";  // as data::DatasetOptions::template_name
  std::optional<std::string> system;   // replaces (or adds) each conversation's system message
  std::string label() const;           // "chatml", "chatml + system 2", ... for table headers
  int system_index = 0;                // 1-based position among --system prompts; 0 = none
};

// Every template (comma-separated list, "auto" when empty) with every system prompt (none when the
// list is empty), templates outer. Throws llmft::Error on an empty name in the list.
std::vector<PromptVariant> prompt_variants(const std::string& templates, const std::vector<std::string>& systems);

// Tokenizes `options.path` under `variant`. A system prompt needs chat or sharegpt records: each
// record's leading system message is replaced, or one is inserted, and the records are re-read
// from a temporary copy (removed before returning). Errors name the original file.
data::TokenizedDataset load_variant(const data::DatasetOptions& options, const PromptVariant& variant,
                                    const data::Tokenizer& tokenizer);

}  // namespace llmft::eval
