#include "data/chat_template_llama.h"

#include "data/template_text.h"

namespace llmft::data {

RenderedExample render_llama3(const std::vector<ChatMessage>& messages, const Llama3Options& options) {
  RenderedExample out;
  out.text = options.bos_text;
  auto append_turn = [&](const std::string& role, const std::string& content) {
    out.text += "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
    const std::size_t begin = out.text.size();
    out.text += python_strip(content) + "<|eot_id|>";
    if (role == "assistant") out.supervised.emplace_back(begin, out.text.size());
  };
  std::size_t first = 0;
  if (options.knowledge_header) {
    std::string system;
    if (!messages.empty() && messages.front().role == "system") {
      system = python_strip(messages.front().content);
      first = 1;
    }
    out.text += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
                options.date + "\n\n" + system + "<|eot_id|>";
  }
  for (std::size_t i = first; i < messages.size(); ++i) append_turn(messages[i].role, messages[i].content);
  if (options.add_generation_prompt) out.text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

RenderedExample render_llama2(const std::vector<ChatMessage>& messages, const std::string& bos_text,
                              const std::string& eos_text) {
  require_alternating_turns(messages, "llama2");
  RenderedExample out;
  const bool has_system = !messages.empty() && messages.front().role == "system";
  const std::size_t first = has_system ? 1 : 0;
  for (std::size_t i = first; i < messages.size(); ++i) {
    std::string content = messages[i].content;
    // The template strips after wrapping, so only the user text's end is stripped in the first turn.
    if (i == first && has_system) content = "<<SYS>>\n" + messages.front().content + "\n<</SYS>>\n\n" + content;
    if (messages[i].role == "user") {
      out.text += bos_text + "[INST] " + python_strip(content) + " [/INST]";
    } else {
      const std::size_t begin = out.text.size();
      out.text += " " + python_strip(content) + " " + eos_text;
      out.supervised.emplace_back(begin, out.text.size());
    }
  }
  return out;
}

}  // namespace llmft::data
