#include "data/chat_template.h"

namespace llmft::data {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
}

}  // namespace

std::optional<std::string> chatml_default_system(const std::string& jinja) {
  // The literal may spell its newline as a real one or as Jinja's "\n" escape.
  for (const std::string opener : {"<|im_start|>system\n", "<|im_start|>system\\n"}) {
    for (std::size_t at = 0; (at = jinja.find(opener, at)) != std::string::npos; ++at) {
      const std::size_t begin = at + opener.size();
      const std::size_t end = jinja.find("<|im_end|>", begin);
      if (end == std::string::npos) break;
      std::string prompt = jinja.substr(begin, end - begin);
      // A quote before <|im_end|> means the literal ended: the content comes from a variable.
      if (prompt.empty() || prompt.find_first_of("'\"") != std::string::npos) continue;
      replace_all(prompt, "\\n", "\n");
      return prompt;
    }
  }
  return std::nullopt;
}

RenderedExample render_chatml(const std::vector<ChatMessage>& messages, const std::optional<std::string>& default_system,
                              bool add_generation_prompt) {
  RenderedExample out;
  auto append_turn = [&](const std::string& role, const std::string& content) {
    out.text += "<|im_start|>" + role + "\n";
    const std::size_t begin = out.text.size();
    out.text += content;
    out.text += "<|im_end|>";
    if (role == "assistant") out.supervised.emplace_back(begin, out.text.size());
    out.text += "\n";
  };
  if (default_system && (messages.empty() || messages.front().role != "system")) append_turn("system", *default_system);
  for (const ChatMessage& message : messages) append_turn(message.role, message.content);
  if (add_generation_prompt) out.text += "<|im_start|>assistant\n";
  return out;
}

RenderedExample render_alpaca(const std::string& instruction, const std::string& input, const std::string& output,
                              bool add_bos) {
  RenderedExample out;
  out.prepend_bos = add_bos;
  if (input.empty()) {
    out.text =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\n" + instruction + "\n\n### Response:\n";
  } else {
    out.text =
        "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
        "response that appropriately completes the request.\n\n### Instruction:\n" + instruction +
        "\n\n### Input:\n" + input + "\n\n### Response:\n";
  }
  const std::size_t begin = out.text.size();
  out.text += output;
  out.supervised.emplace_back(begin, out.text.size());
  out.append_eos = true;
  return out;
}

RenderedExample render_plain(const std::string& text, bool add_bos) {
  RenderedExample out;
  out.prepend_bos = add_bos;
  out.text = text;
  out.supervised.emplace_back(0, text.size());
  out.append_eos = true;
  return out;
}

std::string alpaca_as_user_turn(const std::string& instruction, const std::string& input) {
  return input.empty() ? instruction : instruction + "\n\n" + input;
}

}  // namespace llmft::data
