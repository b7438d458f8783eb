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
                                   const data::Tokenizer& tokenizer, const std::vector<int64_t>& config_eos) {
  PromptFormat format;
  format.system = system;
  const auto& jinja = tokenizer.chat_template();
  std::string name = requested;
  if (name == "auto") name = jinja && jinja->find("<|im_start|>") != std::string::npos ? "chatml" : "none";
  if (name != "chatml" && name != "none")
    throw Error("--template '" + requested + "' is unknown (known: auto, chatml, none)");
  format.template_name = name;

  auto add_stop = [&](int64_t id) {
    const auto id32 = static_cast<int32_t>(id);
    if (std::find(format.stop_ids.begin(), format.stop_ids.end(), id32) == format.stop_ids.end())
      format.stop_ids.push_back(id32);
  };
  for (int64_t id : config_eos) add_stop(id);
  if (tokenizer.eos_id()) add_stop(*tokenizer.eos_id());
  if (name == "chatml") {
    for (const char* token : {"<|im_start|>", "<|im_end|>"})
      if (!tokenizer.token_to_id(token)) throw Error(std::string("--template chatml: the tokenizer has no ") + token + " token");
    add_stop(*tokenizer.token_to_id("<|im_end|>"));
    if (jinja) format.default_system = data::chatml_default_system(*jinja);
  } else if (system) {
    throw Error("--system needs a chat template (--template chatml)");
  }
  return format;
}

std::vector<int32_t> encode_conversation(const PromptFormat& format, const std::vector<data::ChatMessage>& messages,
                                         const data::Tokenizer& tokenizer) {
  if (messages.empty()) throw Error("generate: nothing to respond to");
  if (format.template_name == "none") {
    std::vector<int32_t> ids;
    if (tokenizer.add_bos() && tokenizer.bos_id()) ids.push_back(*tokenizer.bos_id());
    const std::vector<int32_t> text = tokenizer.encode(messages.back().content, /*add_special=*/false,
                                                       /*parse_special=*/true);
    ids.insert(ids.end(), text.begin(), text.end());
    return ids;
  }
  std::vector<data::ChatMessage> conversation;
  if (format.system) conversation.push_back({"system", *format.system});
  conversation.insert(conversation.end(), messages.begin(), messages.end());
  // apply_chat_template tokenizes the rendered text without adding special tokens.
  const std::string text = data::render_chatml(conversation, format.default_system).text + "<|im_start|>assistant\n";
  return tokenizer.encode(text, /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace llmft::eval
