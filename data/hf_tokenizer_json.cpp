#include "data/hf_tokenizer_json.h"

#include <map>

#include "data/bpe_pretokenizer.h"
#include "data/hf_tokenizer_config.h"
#include "data/sentencepiece_hf.h"
#include "io/error.h"

namespace llmft::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The pattern of a known family, by GGUF name (bpe_pretokenizer.cpp owns the regex text).
std::string family_pattern(std::string_view family, std::size_t index) {
  return find_pretokenizer_family(family)->patterns.at(index);
}

std::string regex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}-/").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

struct PretokenizerReader {
  const std::string& source;
  std::vector<std::string> patterns;
  bool byte_level = false;

  void read(const json& node, const std::string& key) {
    if (node.is_null()) return;
    const std::string type = node.value("type", "");
    if (type == "Sequence") {
      const json& list = node.at("pretokenizers");
      for (std::size_t i = 0; i < list.size(); ++i) read(list[i], key + ".pretokenizers[" + std::to_string(i) + "]");
    } else if (type == "ByteLevel") {
      if (node.value("add_prefix_space", false)) unsupported(key + ".add_prefix_space = true");
      // use_regex (default true) is GPT-2's split, which is the "gpt-2" family's pattern.
      if (node.value("use_regex", true)) patterns.push_back(family_pattern("gpt-2", 0));
      byte_level = true;
    } else if (type == "Digits") {
      patterns.push_back(node.value("individual_digits", false) ? family_pattern("smollm", 0) : R"re(\p{N}+)re");
    } else if (type == "Split") {
      if (node.value("behavior", "") != "Isolated") unsupported(key + ".behavior = " + node.value("behavior", "?"));
      if (node.value("invert", false)) unsupported(key + ".invert = true");
      const json& pattern = node.at("pattern");
      if (pattern.contains("Regex")) {
        patterns.push_back(pattern.at("Regex").get<std::string>());
      } else if (pattern.contains("String")) {
        patterns.push_back(regex_escape(pattern.at("String").get<std::string>()));
      } else {
        unsupported(key + ".pattern");
      }
    } else {
      unsupported(key + ".type = " + type);
    }
  }

  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error(source + ": pre_tokenizer " + what + " is not supported yet (llmft reads byte-level BPE)");
  }
};

// HF's normalizers that byte-level BPE vocabularies use: none, or NFC (Qwen2), alone or in a Sequence.
bool read_normalizer(const json& node, const std::string& source) {
  if (node.is_null()) return false;
  const std::string type = node.value("type", "");
  if (type == "NFC") return true;
  if (type == "Sequence") {
    bool nfc = false;
    for (const json& step : node.at("normalizers")) nfc = read_normalizer(step, source) || nfc;
    return nfc;
  }
  throw Error(source + ": normalizer " + (type.empty() ? "(untyped)" : type) +
              " is not supported yet (byte-level BPE reads NFC)");
}

}  // namespace

BpeVocab bpe_vocab_from_hf_json(const json& tokenizer_json, const json& config, const std::string& source) {
  try {
    const json& model = tokenizer_json.at("model");
    const std::string type = model.value("type", "");
    if (type != "BPE") {
      throw Error(source + ": model.type " + (type.empty() ? "(absent)" : type) +
                  " is not supported yet (llmft reads byte-level BPE tokenizers)");
    }
    const bool nfc = read_normalizer(tokenizer_json.value("normalizer", json()), source);
    if (model.value("byte_fallback", false)) {
      throw Error(source + ": model.byte_fallback = true without a Metaspace step is not supported yet");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (model.contains(key) && !model.at(key).is_null() && !model.at(key).get<std::string>().empty())
        throw Error(source + ": model." + key + " is not supported yet (llmft reads byte-level BPE)");
    }
    BpeVocab vocab;
    vocab.source = source;
    PretokenizerReader pre{source, {}, false};
    pre.read(tokenizer_json.value("pre_tokenizer", json()), "pre_tokenizer");
    if (!pre.byte_level) {
      throw Error(source + ": pre_tokenizer has no ByteLevel step: only byte-level BPE is supported yet");
    }
    vocab.pretokenizer = std::move(pre.patterns);
    vocab.ignore_merges = model.value("ignore_merges", false);
    vocab.nfc = nfc;

    // id -> token over the model vocabulary and the added tokens (which may extend it).
    std::map<int64_t, std::pair<std::string, TokenKind>> by_id;
    for (const auto& [token, id] : model.at("vocab").items())
      by_id[json_token_id(id, source, "model.vocab", token)] = {token, TokenKind::Normal};
    for (const json& added : tokenizer_json.value("added_tokens", json::array())) {
      const bool special = added.value("special", false);
      // These change how the token is matched in text (absorbing spaces, word boundaries).
      for (const char* key : {"lstrip", "rstrip", "single_word"}) {
        if (added.value(key, false)) {
          throw Error(source + ": added token '" + added.at("content").get<std::string>() + "' has " + key +
                      " = true, which is not supported yet");
        }
      }
      const std::string content = added.at("content").get<std::string>();
      by_id[json_token_id(added.at("id"), source, "added_tokens", content)] = {
          content, special ? TokenKind::Control : TokenKind::UserDefined};
    }
    int64_t expected = 0;
    for (auto& [id, entry] : by_id) {
      if (id != expected) throw Error(source + ": model.vocab has no token with id " + std::to_string(expected));
      vocab.tokens.push_back(std::move(entry.first));
      vocab.kinds.push_back(entry.second);
      ++expected;
    }

    for (const json& merge : model.at("merges")) {
      if (merge.is_array() && merge.size() == 2) {
        vocab.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
        continue;
      }
      const std::string text = merge.get<std::string>();
      const std::size_t space = text.find(' ', 1);  // a merge's left side is never empty
      if (space == std::string::npos) throw Error(source + ": model.merges entry '" + text + "' is not 'left right'");
      vocab.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    }

    auto lookup = [&](const std::string& token, const std::string& key) -> int32_t {
      for (std::size_t id = vocab.tokens.size(); id-- > 0;)  // last duplicate wins, as in HF's dicts
        if (vocab.tokens[id] == token) return static_cast<int32_t>(id);
      throw Error(source + ": " + key + " '" + token + "' is not in the vocabulary");
    };
    fill_specials(config, read_post_processor(tokenizer_json.value("post_processor", json())), lookup,
                  vocab.specials);
    return vocab;
  } catch (const json::exception& e) {
    throw Error(source + ": unexpected structure: " + e.what());
  }
}

BpeVocab read_hf_bpe_vocab(const fs::path& dir) {
  const fs::path tokenizer_path = dir / "tokenizer.json";
  if (!fs::exists(tokenizer_path)) throw Error(dir.string() + ": no tokenizer.json (or .gguf) found for this model");
  BpeVocab vocab = bpe_vocab_from_hf_json(parse_json_file(tokenizer_path), read_tokenizer_config(dir),
                                          tokenizer_path.string());
  if (fs::exists(dir / "chat_template.jinja")) vocab.specials.chat_template = read_text_file(dir / "chat_template.jinja");
  return vocab;
}

std::unique_ptr<Tokenizer> load_hf_tokenizer(const fs::path& dir) {
  const fs::path tokenizer_path = dir / "tokenizer.json";
  if (!fs::exists(tokenizer_path)) {
    // As transformers: tokenizer.json when present, else the sentencepiece model it was made from.
    if (fs::exists(dir / "tokenizer.model")) return load_sentencepiece_dir(dir);
    throw Error(dir.string() + ": no tokenizer.json, tokenizer.model (or .gguf) found for this model");
  }
  const json tokenizer_json = parse_json_file(tokenizer_path);
  if (!tokenizer_json.is_object())
    throw Error(tokenizer_path.string() + ": expected a JSON object (a tokenizers-library tokenizer.json), got " +
                tokenizer_json.type_name());
  if (is_sentencepiece_style_json(tokenizer_json)) {
    return spm_tokenizer_from_hf_json(tokenizer_json, read_tokenizer_config(dir), dir, tokenizer_path.string());
  }
  return std::make_unique<BpeTokenizer>(read_hf_bpe_vocab(dir));
}

}  // namespace llmft::data
