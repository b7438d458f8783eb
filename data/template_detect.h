#pragma once
// Which built-in template a model's own Jinja chat template (tokenizer_config.json's chat_template,
// GGUF's tokenizer.chat_template) is, recognised by its markers:
//   chatml   <|im_start|>                      (not SmolLM3's, whose reasoning-mode header differs)
//   llama3   <|start_header_id|>
//   llama2   <<SYS>> and [INST]
//   mistral  [INST] without <<SYS>>            (Mistral-Nemo's spacing; "[INST] " variants differ)
#include <optional>
#include <string>

namespace llmft::data {

struct TemplateDetection {
  std::optional<std::string> name;  // the built-in that renders it; unset when none does
  std::string found;                // what the template is, for messages ("ChatML", "Gemma (<start_of_turn>)")
};

TemplateDetection detect_chat_template(const std::string& jinja);

// Llama 3.1 and later print a "Cutting Knowledge Date" system header; Llama 3.0 does not.
bool llama3_has_knowledge_header(const std::string& jinja);

}  // namespace llmft::data
