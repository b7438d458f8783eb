#pragma once
// Meta's Llama chat formats, rendered as their Jinja templates render them through transformers'
// apply_chat_template (no tools). BOS/EOS are written as token text (bos_text, eos_text) exactly
// where the templates write bos_token/eos_token, so tokenizing the text with special tokens parsed
// gives apply_chat_template's ids.
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace llmft::data {

// The date Llama 3.1/3.2 templates print when the caller passes no date_string (3.2's template asks
// transformers for today's date instead; llmft keeps the fixed default so a dataset renders the same
// every day).
inline constexpr const char* kLlama3DefaultDate = "26 Jul 2024";

struct Llama3Options {
  std::string bos_text = "<|begin_of_text|>";
  // Llama 3.1/3.2/3.3: a system block with "Cutting Knowledge Date: December 2023\nToday Date: DATE\n\n"
  // before the system message, always present. Llama 3.0's template has none: a system message is an
  // ordinary turn and a conversation without one has no system block.
  bool knowledge_header = true;
  std::string date = kLlama3DefaultDate;
  bool add_generation_prompt = false;  // end with the assistant header
};

// <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> per message, CONTENT trimmed.
// Supervised: each assistant CONTENT and its <|eot_id|>.
RenderedExample render_llama3(const std::vector<ChatMessage>& messages, const Llama3Options& options);

// Llama-2-chat: BOS[INST] USER [/INST] ANSWER EOS per exchange, the system message wrapped in
// <<SYS>>\n...\n<</SYS>>\n\n at the start of the first user turn; contents stripped. Roles must
// alternate (throws llmft::Error). Supervised: " ANSWER EOS" (the space before the answer is spelled
// with its first word by byte-level and sentencepiece tokenizers alike).
RenderedExample render_llama2(const std::vector<ChatMessage>& messages, const std::string& bos_text,
                              const std::string& eos_text);

}  // namespace llmft::data
