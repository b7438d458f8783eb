#pragma once
// A chat template written in the recipe (data.template: custom, data.custom_template): one format
// string per role, each with one {content} where the message goes.
//
//   data:
//     template: custom
//     custom_template:
//       bos: true                     # BOS id first (never supervised)
//       system: "<|system|>\n{content}<|end|>\n"
//       user: "<|user|>\n{content}<|end|>\n"
//       assistant: "<|assistant|>\n{content}<|end|>\n"
//       default_system: "You are helpful."   # optional: for conversations without a system message
//
// "{{" and "}}" write literal braces; any other {name} is an error. Supervised: an assistant turn's
// {content} and everything its format writes after it (the end-of-turn token), plus spaces the format
// writes right before {content} (tokenizers spell such a space with the answer's first word).
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace llmft::data {

struct CustomTemplate {
  bool bos = false;
  std::optional<std::string> system;  // unset: conversations with a system message are an error
  std::string user;
  std::string assistant;
  std::optional<std::string> default_system;
  bool operator==(const CustomTemplate&) const = default;
};

// What is wrong with one role's format ("has no {content}", "has an unknown placeholder '{role}'"),
// or "" when it is valid.
std::string custom_format_problem(const std::string& format);

// Throws llmft::Error "<where>: <key>.<role>: ..." for the first invalid format (key names the
// recipe key, e.g. "data.custom_template"), or when default_system is set without a system format.
void validate_custom_template(const CustomTemplate& custom, const std::string& where, const std::string& key);

// Throws llmft::Error when a message has a role the template has no format for.
RenderedExample render_custom(const std::vector<ChatMessage>& messages, const CustomTemplate& custom,
                              bool add_generation_prompt = false);

}  // namespace llmft::data
