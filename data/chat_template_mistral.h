#pragma once
// Mistral's [INST] format as Mistral-Nemo-Instruct-2407's Jinja template renders it through
// transformers' apply_chat_template (no tools):
//   BOS [INST]USER[/INST]ANSWER EOS [INST]USER[/INST]ANSWER EOS ...   (no spaces, nothing stripped)
// The system message is written only into the LAST message when that message is a user turn
// ("[INST]SYSTEM\n\nUSER[/INST]"): a generation prompt carries it, a conversation that ends with an
// assistant turn (a training example) does not, exactly as the template does.
// Mistral-7B-Instruct v0.1-v0.3 templates differ ("[INST] " with spaces, stripped answers): this is
// not their format.
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace llmft::data {

// Roles must alternate user/assistant after an optional system message (throws llmft::Error).
// Supervised: each ANSWER and its EOS.
RenderedExample render_mistral(const std::vector<ChatMessage>& messages, const std::string& bos_text,
                               const std::string& eos_text);

}  // namespace llmft::data
