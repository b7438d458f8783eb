#pragma once
// Prompt templates: a record's fields -> one rendered string plus the byte ranges of it the loss is
// trained on. Rendering is plain string building that reproduces what the model's Jinja template
// produces through transformers' apply_chat_template (checked against it in the parity tests).
//
//   "chatml"  <|im_start|>ROLE\nCONTENT<|im_end|>\n per message (SmolLM2, Qwen2.5). When the
//             tokenizer's own template inserts a default system prompt for conversations without
//             one (SmolLM2: "You are a helpful AI assistant named SmolLM, ..."), the same prompt is
//             inserted. Supervised: each assistant CONTENT and the <|im_end|> closing it.
//   "alpaca"  the Stanford Alpaca prompt (with or without "### Input:"), then the output and EOS.
//             Supervised: the output and EOS.
//   "none"    the text as is (with BOS when the tokenizer adds one, and EOS). Supervised: all of it.
// The Llama and Mistral formats are in chat_template_llama.h and chat_template_mistral.h, templates
// written in a recipe in custom_template.h; docs/chat-templates.md describes them all.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmft::data {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct RenderedExample {
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> supervised;  // [begin, end) byte ranges of text
  bool prepend_bos = false;  // BOS id before text (never supervised)
  bool append_eos = false;   // EOS id after text (supervised)
};

// The template names load_dataset accepts besides "auto".
inline constexpr const char* kTemplateNames = "chatml, llama3, llama2, mistral, alpaca, custom, none";

// The default system prompt a ChatML Jinja template inserts when the first message is not a system
// message: the literal between "<|im_start|>system\n" and "<|im_end|>" in the template, if any.
std::optional<std::string> chatml_default_system(const std::string& jinja);

// add_generation_prompt ends the text with "<|im_start|>assistant\n".
RenderedExample render_chatml(const std::vector<ChatMessage>& messages, const std::optional<std::string>& default_system,
                              bool add_generation_prompt = false);

// `input` empty selects the prompt without "### Input:".
RenderedExample render_alpaca(const std::string& instruction, const std::string& input, const std::string& output,
                              bool add_bos);

RenderedExample render_plain(const std::string& text, bool add_bos);

// The user turn an Alpaca record becomes under a chat template: instruction, then "\n\n" and the input.
std::string alpaca_as_user_turn(const std::string& instruction, const std::string& input);

}  // namespace llmft::data
