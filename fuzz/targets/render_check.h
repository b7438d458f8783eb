#pragma once
// Checks shared by the jsonl and chat_template targets: a rendered example is well formed and
// tokenizes (with loss labels) under the fixture tokenizer.
#include <string>

#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace llmft::fuzz {

// Supervised ranges inside the text, non-empty-or-empty but ordered and disjoint; then
// data::tokenize_example (both train_on_prompt settings) with ids in range and one label per id.
// An llmft::Error from tokenize_example propagates.
void check_rendered(const data::RenderedExample& example, const data::Tokenizer& tokenizer, const std::string& where);

}  // namespace llmft::fuzz
