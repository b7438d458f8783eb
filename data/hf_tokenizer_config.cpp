#include "data/hf_tokenizer_config.h"

#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "io/error.h"

namespace llmft::data {

using nlohmann::json;
namespace fs = std::filesystem;

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

json parse_json_file(const fs::path& path) {
  try {
    return json::parse(read_text_file(path));
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406 for a number like 1e400
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
}

int32_t json_token_id(const json& value, const std::string& source, const char* key, const std::string& token) {
  // get<int64_t>() of a float is a cast that is undefined out of range; only exact integers pass.
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
  if (value.is_number_unsigned() && value.get<uint64_t>() <= kMax) return static_cast<int32_t>(value.get<uint64_t>());
  if (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() >= 0 &&
      static_cast<uint64_t>(value.get<int64_t>()) <= kMax)
    return static_cast<int32_t>(value.get<int64_t>());
  const std::string got = value.is_number() ? value.dump() : std::string(value.type_name());
  throw Error(source + ": " + key + " '" + token + "': token id must be an integer from 0 to " + std::to_string(kMax) +
              ", got " + got);
}

json read_tokenizer_config(const fs::path& dir) {
  const fs::path path = dir / "tokenizer_config.json";
  return fs::exists(path) ? parse_json_file(path) : json();
}

std::optional<std::string> config_token(const json& config, const char* key) {
  if (config.is_null() || !config.contains(key)) return std::nullopt;
  const json& value = config.at(key);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value.at("content").is_string())
    return value.at("content").get<std::string>();
  return std::nullopt;
}

std::optional<std::string> config_chat_template(const json& config) {
  if (config.is_null() || !config.contains("chat_template")) return std::nullopt;
  const json& value = config.at("chat_template");
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {  // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
    for (const json& entry : value)
      if (entry.value("name", "") == "default") return entry.at("template").get<std::string>();
  }
  return std::nullopt;
}

std::vector<AddedTokenSpec> config_added_tokens(const json& config, const std::string& source) {
  std::vector<AddedTokenSpec> added;
  if (config.is_null() || !config.contains("added_tokens_decoder")) return added;
  for (const auto& [key, entry] : config.at("added_tokens_decoder").items()) {
    const std::string content = entry.at("content").get<std::string>();
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      if (entry.value(flag, false)) {
        throw Error(source + ": added_tokens_decoder." + key + " ('" + content + "') has " + flag +
                    " = true, which is not supported yet");
      }
    }
    AddedTokenSpec spec;
    try {
      spec.id = std::stoi(key);
    } catch (const std::exception&) {
      throw Error(source + ": added_tokens_decoder key '" + key + "' is not a token id");
    }
    spec.content = content;
    spec.special = entry.value("special", false);
    added.push_back(std::move(spec));
  }
  return added;
}

namespace {
void collect_post_processor(const json& node, PostProcessorSpecials& out) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    for (const json& step : node.at("processors")) collect_post_processor(step, out);
  } else if (type == "TemplateProcessing") {
    out.templated = true;
    bool seen_sequence = false;
    for (const json& item : node.at("single")) {
      if (item.contains("Sequence")) {
        seen_sequence = true;
      } else if (item.contains("SpecialToken")) {
        const std::string name = item.at("SpecialToken").at("id").get<std::string>();
        const json& specials = node.value("special_tokens", json::object());
        std::string token = name;
        if (specials.contains(name) && !specials.at(name).value("tokens", json::array()).empty())
          token = specials.at(name).at("tokens").at(0).get<std::string>();
        (seen_sequence ? out.eos : out.bos) = token;
      }
    }
  }
}
}  // namespace

PostProcessorSpecials read_post_processor(const json& node) {
  PostProcessorSpecials out;
  collect_post_processor(node, out);
  return out;
}

void fill_specials(const json& config, const PostProcessorSpecials& post,
                   const std::function<int32_t(const std::string&, const std::string&)>& lookup,
                   TokenizerSpecials& specials) {
  const std::pair<const char*, std::optional<int32_t>*> keys[] = {
      {"bos_token", &specials.bos_id}, {"eos_token", &specials.eos_id},
      {"pad_token", &specials.pad_id}, {"unk_token", &specials.unk_id}};
  for (const auto& [key, slot] : keys) {
    if (auto token = config_token(config, key)) *slot = lookup(*token, std::string("tokenizer_config.json ") + key);
  }
  if (post.templated) {
    specials.add_bos = post.bos.has_value();
    specials.add_eos = post.eos.has_value();
    if (post.bos && !specials.bos_id) specials.bos_id = lookup(*post.bos, "post_processor BOS");
    if (post.eos && !specials.eos_id) specials.eos_id = lookup(*post.eos, "post_processor EOS");
  } else if (!config.is_null()) {
    specials.add_bos = config.value("add_bos_token", specials.add_bos) && specials.bos_id;
    specials.add_eos = config.value("add_eos_token", specials.add_eos) && specials.eos_id;
  }
  specials.chat_template = config_chat_template(config);
}

}  // namespace llmft::data
