#include "data/hf_tokenizer_export.h"

namespace llmft::data {
namespace {

using nlohmann::json;

bool is_added(TokenKind kind) {
  return kind == TokenKind::Control || kind == TokenKind::UserDefined || kind == TokenKind::Unknown;
}

TokenKind kind_of(const BpeVocab& vocab, std::size_t id) {
  return vocab.kinds.empty() ? TokenKind::Normal : vocab.kinds[id];
}

json added_token(int64_t id, const std::string& content, bool special) {
  // Added tokens match the raw text (normalized=false) and never absorb neighbouring spaces.
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", false}, {"special", special}};
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

std::optional<std::string> token_text(const BpeVocab& vocab, const std::optional<int32_t>& id) {
  if (!id || *id < 0 || static_cast<std::size_t>(*id) >= vocab.tokens.size()) return std::nullopt;
  return vocab.tokens[*id];
}

}  // namespace

json hf_tokenizer_json(const BpeVocab& vocab) {
  json added = json::array();
  json vocab_map = json::object();
  for (std::size_t id = 0; id < vocab.tokens.size(); ++id) {
    vocab_map[vocab.tokens[id]] = id;
    const TokenKind kind = kind_of(vocab, id);
    if (is_added(kind)) added.push_back(added_token(id, vocab.tokens[id], kind != TokenKind::UserDefined));
  }
  json merges = json::array();
  for (const auto& [left, right] : vocab.merges) merges.push_back(json::array({left, right}));

  json pretokenizers = json::array();
  for (const std::string& pattern : vocab.pretokenizer)
    pretokenizers.push_back(
        {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}});
  pretokenizers.push_back(byte_level(/*use_regex=*/false));

  // BOS/EOS added around a single sequence when the vocabulary asks for them.
  json single = json::array();
  json special_tokens = json::object();
  auto add_special = [&](const std::optional<int32_t>& id) {
    const auto text = token_text(vocab, id);
    if (!text) return;
    single.push_back({{"SpecialToken", {{"id", *text}, {"type_id", 0}}}});
    special_tokens[*text] = {{"id", *text}, {"ids", {*id}}, {"tokens", {*text}}};
  };
  if (vocab.specials.add_bos) add_special(vocab.specials.bos_id);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (vocab.specials.add_eos) add_special(vocab.specials.eos_id);
  json pair = single;
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});

  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pretokenizers}}},
      {"post_processor",
       {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special_tokens}}},
      {"decoder", byte_level(/*use_regex=*/true)},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", vocab.ignore_merges},
        {"vocab", vocab_map},
        {"merges", merges}}},
  };
}

json hf_tokenizer_config_json(const BpeVocab& vocab, int64_t model_max_length) {
  json config = {
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"add_bos_token", vocab.specials.add_bos},
      {"add_eos_token", vocab.specials.add_eos},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", model_max_length},
  };
  auto set_token = [&](const char* key, const std::optional<int32_t>& id) {
    if (auto text = token_text(vocab, id)) config[key] = *text;
  };
  set_token("bos_token", vocab.specials.bos_id);
  set_token("eos_token", vocab.specials.eos_id);
  set_token("pad_token", vocab.specials.pad_id);
  set_token("unk_token", vocab.specials.unk_id);
  if (vocab.specials.chat_template) config["chat_template"] = *vocab.specials.chat_template;
  return config;
}

}  // namespace llmft::data
