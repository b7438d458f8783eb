#pragma once
// Which template renders a dataset's records (or a generation prompt), and rendering with it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/custom_template.h"
#include "data/dataset.h"
#include "data/dataset_records.h"
#include "data/tokenizer.h"

namespace llmft::data {

// chatml, llama3, llama2, mistral, custom: templates that render conversations.
bool is_chat_template(const std::string& name);

// The template a (format, requested name, tokenizer) resolves to; "auto" picks the built-in that
// renders the tokenizer's own chat template (data/template_detect.h). Throws llmft::Error naming
// options.path when they do not fit.
std::string resolve_template(const DatasetOptions& options, const Tokenizer& tokenizer);

// "auto" or a chat template name -> a chat template name. `where` starts error messages.
std::string resolve_chat_template(const std::string& requested, const Tokenizer& tokenizer, const std::string& where);

struct TemplateRenderer {
  std::string name;
  std::optional<std::string> default_system;  // chatml: what the tokenizer's template inserts
  bool add_bos = false;                       // alpaca, none: BOS id first
  std::string bos_text, eos_text;             // llama2, llama3, mistral: the BOS/EOS token spellings
  bool llama3_knowledge_header = true;        // false for Llama 3.0's template
  std::optional<CustomTemplate> custom;       // custom

  // A record as a training example. `where` ("FILE:LINE") prefixes errors about the conversation
  // (roles that do not alternate under llama2/mistral, a role a custom template has no format for).
  RenderedExample render(const DatasetRecord& record, RecordFormat format, const std::string& where = "") const;
  // A conversation under a chat template; add_generation_prompt appends what precedes an answer.
  RenderedExample render_messages(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // Ids that end an assistant turn: the template's end-of-turn token(s) and EOS.
  std::vector<int32_t> end_of_turn_ids(const Tokenizer& tokenizer) const;
};

// Checks the tokenizer has the tokens template `name` needs; throws llmft::Error naming them.
TemplateRenderer make_renderer(const std::string& name, const DatasetOptions& options, const Tokenizer& tokenizer);

// The same for any template without dataset options; `where` starts error messages.
TemplateRenderer make_renderer(const std::string& name, const std::optional<CustomTemplate>& custom,
                               const Tokenizer& tokenizer, const std::string& where);

}  // namespace llmft::data
