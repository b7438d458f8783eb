#pragma once
// What `llmft generate` is asked: prompt texts from a file, and how a prompt becomes token ids
// (a chat template or the raw text) and which ids end a reply.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/custom_template.h"
#include "data/template_renderer.h"
#include "data/tokenizer.h"

namespace llmft::eval {

// --prompts FILE: JSONL objects {"prompt": "..."} when the first non-empty line starts with '{',
// otherwise one prompt per line (empty lines skipped). Throws llmft::Error naming the file and line.
std::vector<std::string> read_prompts(const std::filesystem::path& path);

struct PromptFormat {
  std::string template_name;                     // a chat template (chatml, llama3, ...) or "none"
  std::optional<std::string> system;             // --system
  std::optional<data::TemplateRenderer> renderer;  // chat templates: how a conversation is rendered
  std::vector<int32_t> stop_ids;                 // EOS ids and the template's end-of-turn token
};

// requested: "auto" (the built-in matching the tokenizer's own chat template, "none" when it has
// none), a chat template name (chatml, llama3, llama2, mistral, custom) or "none". custom needs
// `custom` (a recipe's data.custom_template). config_eos: the model config's eos_token_id(s).
// Throws llmft::Error when the template is unknown or does not fit the tokenizer.
PromptFormat resolve_prompt_format(const std::string& requested, const std::optional<std::string>& system,
                                   const data::Tokenizer& tokenizer, const std::vector<int64_t>& config_eos,
                                   const std::optional<data::CustomTemplate>& custom = std::nullopt);

// The ids of a conversation ending with a user turn, followed by the template's generation prompt,
// as apply_chat_template(add_generation_prompt=True) renders it (chatml: "<|im_start|>assistant\n",
// llama3: the assistant header; llama2 and mistral end with [/INST]; custom: the assistant format
// up to {content}). With the "none" template the last message's text alone (BOS first when the
// tokenizer adds one).
std::vector<int32_t> encode_conversation(const PromptFormat& format, const std::vector<data::ChatMessage>& messages,
                                         const data::Tokenizer& tokenizer);

}  // namespace llmft::eval
