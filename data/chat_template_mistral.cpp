#include "data/chat_template_mistral.h"

#include "data/template_text.h"

namespace llmft::data {

RenderedExample render_mistral(const std::vector<ChatMessage>& messages, const std::string& bos_text,
                               const std::string& eos_text) {
  require_alternating_turns(messages, "mistral");
  RenderedExample out;
  out.text = bos_text;
  const bool has_system = !messages.empty() && messages.front().role == "system";
  for (std::size_t i = has_system ? 1 : 0; i < messages.size(); ++i) {
    const std::string& content = messages[i].content;
    if (messages[i].role == "user") {
      const bool last = i + 1 == messages.size();
      out.text += "[INST]" + (last && has_system ? messages.front().content + "\n\n" : std::string()) + content +
                  "[/INST]";
    } else {
      const std::size_t begin = out.text.size();
      out.text += content + eos_text;
      out.supervised.emplace_back(begin, out.text.size());
    }
  }
  return out;
}

}  // namespace llmft::data
