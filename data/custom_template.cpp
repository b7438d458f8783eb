#include "data/custom_template.h"

#include "io/error.h"

namespace llmft::data {
namespace {

// A role's format split at {content}, braces unescaped.
struct SplitFormat {
  std::string before, after;
  int contents = 0;
  std::string problem;
};

SplitFormat split_format(const std::string& format) {
  SplitFormat out;
  std::string* part = &out.before;
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if ((c == '{' || c == '}') && i + 1 < format.size() && format[i + 1] == c) {
      *part += c;
      ++i;
    } else if (c == '{') {
      const std::size_t close = format.find('}', i);
      if (close == std::string::npos) {
        out.problem = "has an unclosed '{' (write {{ for a literal brace)";
        return out;
      }
      const std::string name = format.substr(i, close - i + 1);
      if (name != "{content}") {
        out.problem = "has an unknown placeholder '" + name + "' (only {content}; write {{ and }} for literal braces)";
        return out;
      }
      ++out.contents;
      part = &out.after;
      i = close;
    } else {
      *part += c;
    }
  }
  if (out.contents == 0) out.problem = "has no {content} placeholder";
  if (out.contents > 1) out.problem = "has {content} " + std::to_string(out.contents) + " times (exactly once)";
  return out;
}

SplitFormat checked(const std::optional<std::string>& format, const std::string& role) {
  if (!format) throw Error("template custom: no format for " + role + " messages (set custom_template." + role + ")");
  SplitFormat split = split_format(*format);
  if (!split.problem.empty()) throw Error("template custom: custom_template." + role + " " + split.problem);
  return split;
}

}  // namespace

std::string custom_format_problem(const std::string& format) { return split_format(format).problem; }

void validate_custom_template(const CustomTemplate& custom, const std::string& where, const std::string& key) {
  const std::pair<const char*, const std::optional<std::string>> roles[] = {
      {"system", custom.system}, {"user", custom.user}, {"assistant", custom.assistant}};
  for (const auto& [role, format] : roles) {
    if (!format) continue;
    const std::string problem = custom_format_problem(*format);
    if (!problem.empty()) throw Error(where + ": " + key + "." + role + " " + problem);
  }
  if (custom.default_system && !custom.system) {
    throw Error(where + ": " + key + ".default_system needs " + key + ".system (the format it is written with)");
  }
}

RenderedExample render_custom(const std::vector<ChatMessage>& messages, const CustomTemplate& custom,
                              bool add_generation_prompt) {
  RenderedExample out;
  out.prepend_bos = custom.bos;
  auto append_turn = [&](const std::string& role, const std::string& content) {
    const SplitFormat format =
        checked(role == "system" ? custom.system : std::optional<std::string>(role == "user" ? custom.user : custom.assistant),
                role);
    out.text += format.before;
    std::size_t begin = out.text.size();
    while (begin > 0 && begin > out.text.size() - format.before.size() && out.text[begin - 1] == ' ') --begin;
    out.text += content + format.after;
    if (role == "assistant") out.supervised.emplace_back(begin, out.text.size());
  };
  if (custom.default_system && (messages.empty() || messages.front().role != "system")) {
    append_turn("system", *custom.default_system);
  }
  for (const ChatMessage& message : messages) append_turn(message.role, message.content);
  if (add_generation_prompt) out.text += checked(custom.assistant, "assistant").before;
  return out;
}

}  // namespace llmft::data
