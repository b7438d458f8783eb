#include "eval/eval_prompts.h"

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace llmft::eval {
namespace fs = std::filesystem;
namespace {

// Sets the system message of one conversation array. role_key/content_key/system_role name the
// format's fields: ("role", "content", "system") for chat, ("from", "value", "system") for sharegpt.
void set_system(nlohmann::json& turns, const std::string& role_key, const std::string& content_key,
                const std::string& text) {
  if (!turns.empty() && turns[0].is_object() && turns[0].value(role_key, "") == "system") {
    turns[0][content_key] = text;
  } else {
    turns.insert(turns.begin(), nlohmann::json{{role_key, "system"}, {content_key, text}});
  }
}

// Records with the system prompt applied, one JSON object per line. JSONL or a top-level array.
std::string with_system(const data::DatasetOptions& options, const std::string& system) {
  const bool chat = options.format == data::RecordFormat::kChat;
  const std::string array_key = chat ? "messages" : "conversations";
  const std::string role_key = chat ? "role" : "from";
  const std::string content_key = chat ? "content" : "value";
  std::ifstream in(options.path, std::ios::binary);
  if (!in) throw Error(options.path.string() + ": cannot open the data file");
  std::stringstream raw;
  raw << in.rdbuf();
  const std::string text = raw.str();

  std::vector<nlohmann::json> records;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    auto all = nlohmann::json::parse(text, nullptr, false);
    if (all.is_discarded()) throw Error(options.path.string() + ": malformed JSON array");
    for (auto& r : all) records.push_back(std::move(r));
  } else {
    std::istringstream lines(text);
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      auto r = nlohmann::json::parse(line, nullptr, false);
      if (r.is_discarded()) throw Error(options.path.string() + ":" + std::to_string(number) + ": malformed JSON");
      records.push_back(std::move(r));
    }
  }
  std::string out;
  for (size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    if (!r.is_object() || !r.contains(array_key) || !r[array_key].is_array())
      throw Error(options.path.string() + ": record " + std::to_string(i + 1) + " has no '" + array_key + "' array");
    set_system(r[array_key], role_key, content_key, system);
    out += r.dump() + "\n";
  }
  return out;
}

}  // namespace

std::string PromptVariant::label() const {
  return system_index > 0 ? template_name + " + system " + std::to_string(system_index) : template_name;
}

std::vector<PromptVariant> prompt_variants(const std::string& templates, const std::vector<std::string>& systems) {
  std::vector<std::string> names;
  std::stringstream list(templates.empty() ? std::string("auto") : templates);
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty()) throw Error("--template: empty name in '" + templates + "'");
    names.push_back(name);
  }
  if (!templates.empty() && templates.back() == ',') throw Error("--template: empty name in '" + templates + "'");
  std::vector<PromptVariant> variants;
  for (const auto& name : names) {
    if (systems.empty()) {
      variants.push_back({name, std::nullopt, 0});
      continue;
    }
    for (size_t s = 0; s < systems.size(); ++s) variants.push_back({name, systems[s], int(s + 1)});
  }
  return variants;
}

data::TokenizedDataset load_variant(const data::DatasetOptions& options, const PromptVariant& variant,
                                    const data::Tokenizer& tokenizer) {
  data::DatasetOptions o = options;
  o.template_name = variant.template_name;
  if (!variant.system) return data::load_dataset(o, tokenizer);
  if (options.format != data::RecordFormat::kChat && options.format != data::RecordFormat::kShareGpt)
    throw Error("--system needs chat or sharegpt records (--format chat|sharegpt), not " + options.path.string() +
                "'s format");
  const std::string records = with_system(options, *variant.system);
  const fs::path copy = fs::temp_directory_path() /
                        ("llmft-eval-" + std::to_string(std::random_device{}()) + "-" + options.path.filename().string());
  {
    std::ofstream out(copy, std::ios::binary);
    out << records;
    if (!out) throw Error(copy.string() + ": cannot write a temporary copy of " + options.path.string());
  }
  o.path = copy;
  try {
    auto dataset = data::load_dataset(o, tokenizer);
    fs::remove(copy);
    return dataset;
  } catch (const Error& e) {
    fs::remove(copy);
    // Name the user's file, not the temporary copy.
    std::string message = e.what();
    for (size_t at; (at = message.find(copy.string())) != std::string::npos;)
      message.replace(at, copy.string().size(), options.path.string());
    throw Error(message);
  }
}

}  // namespace llmft::eval
