#include "eval/generate_prompts.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace llmft::eval {

std::vector<std::string> read_prompts(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the prompts file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  auto blank = [](const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; };
  const auto first = std::find_if(lines.begin(), lines.end(), [&](const std::string& s) { return !blank(s); });
  const bool jsonl = first != lines.end() && (*first)[first->find_first_not_of(" \t")] == '{';
  std::vector<std::string> prompts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    if (!jsonl) {
      prompts.push_back(lines[i]);
      continue;
    }
    const std::string where = path.string() + ":" + std::to_string(i + 1);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": not a JSON object (a JSONL prompts file holds {\"prompt\": ...} per line)");
    }
    if (!record.is_object() || !record.contains("prompt") || !record["prompt"].is_string())
      throw Error(where + ": expected an object with a string \"prompt\"");
    prompts.push_back(record["prompt"].get<std::string>());
  }
  if (prompts.empty()) throw Error(path.string() + ": no prompts in the file");
  return prompts;
}

PromptFormat resolve_prompt_format(const std::string& requested, const std::optional<std::string>& system,
                                   const data::Tokenizer& tokenizer, const std::vector<int64_t>& config_eos,
                                   const std::optional<data::CustomTemplate>& custom) {
  PromptFormat format;
  format.system = system;
  std::string name = requested;
  if (name == "auto" && !tokenizer.chat_template()) name = "none";
  if (name != "none") {
    if (name != "auto" && !data::is_chat_template(name)) {
      throw Error("--template '" + requested + "' is unknown (known: auto, chatml, llama3, llama2, mistral, custom, none)");
    }
    if (name == "custom" && !custom) {
      throw Error("--template custom needs the formats of a recipe's data.custom_template; pick a built-in "
                  "(chatml, llama3, llama2, mistral) or none");
    }
    try {
      name = data::resolve_chat_template(name, tokenizer, "--template");
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (or none for the raw prompt)");
    }
    format.renderer = data::make_renderer(name, custom, tokenizer, "--template");
  }
  format.template_name = name;

  auto add_stop = [&](int64_t id) {
    const auto id32 = static_cast<int32_t>(id);
    if (std::find(format.stop_ids.begin(), format.stop_ids.end(), id32) == format.stop_ids.end())
      format.stop_ids.push_back(id32);
  };
  for (int64_t id : config_eos) add_stop(id);
  if (tokenizer.eos_id()) add_stop(*tokenizer.eos_id());
  if (format.renderer) {
    for (int32_t id : format.renderer->end_of_turn_ids(tokenizer)) add_stop(id);
  } else if (system) {
    throw Error("--system needs a chat template (--template chatml, llama3, llama2, mistral or custom)");
  }
  return format;
}

std::vector<int32_t> encode_conversation(const PromptFormat& format, const std::vector<data::ChatMessage>& messages,
                                         const data::Tokenizer& tokenizer) {
  if (messages.empty()) throw Error("generate: nothing to respond to");
  std::vector<int32_t> ids;
  if (!format.renderer) {
    if (tokenizer.add_bos() && tokenizer.bos_id()) ids.push_back(*tokenizer.bos_id());
    const std::vector<int32_t> text = tokenizer.encode(messages.back().content, /*add_special=*/false,
                                                       /*parse_special=*/true);
    ids.insert(ids.end(), text.begin(), text.end());
    return ids;
  }
  std::vector<data::ChatMessage> conversation;
  if (format.system) conversation.push_back({"system", *format.system});
  conversation.insert(conversation.end(), messages.begin(), messages.end());
  const data::RenderedExample prompt = format.renderer->render_messages(conversation, /*add_generation_prompt=*/true);
  // apply_chat_template tokenizes the rendered text without adding special tokens; a template that
  // writes BOS does so in the text.
  if (prompt.prepend_bos) ids.push_back(*tokenizer.bos_id());
  const std::vector<int32_t> text = tokenizer.encode(prompt.text, /*add_special=*/false, /*parse_special=*/true);
  ids.insert(ids.end(), text.begin(), text.end());
  return ids;
}

}  // namespace llmft::eval
