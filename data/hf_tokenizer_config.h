#pragma once
// What every Hugging Face tokenizer directory shares, whatever the model: tokenizer_config.json's
// special tokens, added tokens and chat template, chat_template.jinja, and tokenizer.json's
// post_processor (which decides BOS/EOS).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sentencepiece_tokenizer.h"
#include "data/tokenizer.h"

namespace llmft::data {

std::string read_text_file(const std::filesystem::path& path);       // throws llmft::Error naming the file
nlohmann::json parse_json_file(const std::filesystem::path& path);  // ditto, also for malformed JSON
// A token id of tokenizer.json (a model.vocab value, an added token's "id"): an integer from 0 to
// INT32_MAX. Anything else (1.5, 1e30, -1, "7") throws llmft::Error "SOURCE: KEY 'TOKEN': token id ...".
int32_t json_token_id(const nlohmann::json& value, const std::string& source, const char* key, const std::string& token);
// tokenizer_config.json of `dir`, or null when absent.
nlohmann::json read_tokenizer_config(const std::filesystem::path& dir);

// The token text of a config entry: "text", {"content": "text"} or absent/null.
std::optional<std::string> config_token(const nlohmann::json& config, const char* key);
// chat_template: a string, or the named list form's "default" entry.
std::optional<std::string> config_chat_template(const nlohmann::json& config);
// added_tokens_decoder: {"32000": {"content", "special", "lstrip", ...}}; lstrip/rstrip/single_word
// throw naming `source`, as they change matching in ways llmft does not implement.
std::vector<AddedTokenSpec> config_added_tokens(const nlohmann::json& config, const std::string& source);

// tokenizer.json's post_processor: a TemplateProcessing's special token before $A is BOS, after it EOS.
struct PostProcessorSpecials {
  std::optional<std::string> bos, eos;
  bool templated = false;
};
PostProcessorSpecials read_post_processor(const nlohmann::json& node);

// Fills bos/eos/pad/unk ids, add_bos/add_eos and chat_template from `config` and `post`;
// `lookup(token, key)` returns the id or throws naming the key. add_bos/add_eos come from the
// post_processor when it is a TemplateProcessing, else from the config (default: the given values).
void fill_specials(const nlohmann::json& config, const PostProcessorSpecials& post,
                   const std::function<int32_t(const std::string&, const std::string&)>& lookup,
                   TokenizerSpecials& specials);

}  // namespace llmft::data
