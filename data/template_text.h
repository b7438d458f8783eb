#pragma once
// String helpers the built-in templates share, so each renders exactly what its Jinja source does.
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_template.h"

namespace llmft::data {

// Python's str.strip() with no argument (what Jinja's `trim` filter and `.strip()` call): removes
// the characters str.isspace() accepts, Unicode spaces included, from both ends of UTF-8 text.
std::string python_strip(std::string_view text);

// Throws llmft::Error unless, after an optional leading system message, the roles alternate
// user/assistant starting with user: the Llama-2 and Mistral templates raise the same way.
void require_alternating_turns(const std::vector<ChatMessage>& messages, const std::string& template_name);

}  // namespace llmft::data
