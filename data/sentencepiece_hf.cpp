#include "data/sentencepiece_hf.h"

#include <map>
#include <unordered_map>

#include "data/hf_tokenizer_config.h"
#include "data/sentencepiece_proto.h"
#include "data/sentencepiece_tokenizer.h"
#include "io/error.h"

namespace llmft::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kMeta = "\xE2\x96\x81";  // "▁"

bool is_byte_piece(const std::string& piece) {
  return piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>';
}

// Steps of a normalizer or pre-tokenizer, flattening Sequences.
void flatten(const json& node, const char* list_key, std::vector<json>& out) {
  if (node.is_null()) return;
  if (node.value("type", "") == "Sequence") {
    for (const json& step : node.at(list_key)) flatten(step, list_key, out);
  } else {
    out.push_back(node);
  }
}

std::string replace_content(const json& step) {
  const json& pattern = step.value("pattern", json());
  return pattern.is_object() && pattern.contains("String") ? pattern.at("String").get<std::string>() : "";
}

// Where the dummy prefix goes and how spaces become "▁", from normalizer + pre_tokenizer.
SpmTokenizerOptions read_space_handling(const json& tokenizer_json, const std::string& source) {
  SpmTokenizerOptions options;
  options.prefix = SpacePrefix::kNone;
  bool spaces_replaced = false;
  std::vector<json> normalizers, pretokenizers;
  flatten(tokenizer_json.value("normalizer", json()), "normalizers", normalizers);
  flatten(tokenizer_json.value("pre_tokenizer", json()), "pretokenizers", pretokenizers);
  for (const json& step : normalizers) {
    const std::string type = step.value("type", "");
    if (type == "Prepend" && step.value("prepend", "") == kMeta) {
      options.prefix = SpacePrefix::kEvery;  // HF normalizes each segment between added tokens
    } else if (type == "Replace" && replace_content(step) == " " && step.value("content", "") == kMeta) {
      spaces_replaced = true;
    } else {
      throw Error(source + ": normalizer " + (type.empty() ? "(untyped)" : type) +
                  " is not supported for sentencepiece-style BPE (Prepend/Replace with \"▁\")");
    }
  }
  for (const json& step : pretokenizers) {
    const std::string type = step.value("type", "");
    if (type != "Metaspace") {
      throw Error(source + ": pre_tokenizer " + (type.empty() ? "(untyped)" : type) +
                  " is not supported for sentencepiece-style BPE (Metaspace)");
    }
    if (step.value("replacement", kMeta) != std::string(kMeta)) {
      throw Error(source + ": pre_tokenizer Metaspace.replacement other than \"▁\" is not supported yet");
    }
    spaces_replaced = true;
    // Older files say add_prefix_space instead of prepend_scheme.
    std::string scheme = step.value("prepend_scheme", step.value("add_prefix_space", true) ? "always" : "never");
    if (scheme == "first") options.prefix = SpacePrefix::kFirst;
    else if (scheme == "always") options.prefix = SpacePrefix::kEvery;
    else if (scheme == "never") options.prefix = SpacePrefix::kNone;
    else throw Error(source + ": pre_tokenizer Metaspace.prepend_scheme '" + scheme + "' is not supported");
    options.prefix_unless_space = true;
    options.split_words = step.value("split", true);
  }
  if (!spaces_replaced) {
    throw Error(source + ": model.byte_fallback = true, but neither a Replace(\" \", \"▁\") normalizer nor a "
                         "Metaspace pre_tokenizer: not a sentencepiece-style tokenizer llmft reads");
  }
  return options;
}

void add_chat_template_file(const fs::path& dir, TokenizerSpecials& specials) {
  if (fs::exists(dir / "chat_template.jinja")) specials.chat_template = read_text_file(dir / "chat_template.jinja");
}

}  // namespace

bool is_sentencepiece_style_json(const json& tokenizer_json) {
  // Only picks the reader: a structure this cannot read (a model that is not an object, a "type"
  // that is not a string) is not this flavour, and the byte-level reader names what is wrong.
  try {
    const json& model = tokenizer_json.value("model", json::object());
    if (model.value("type", "") != "BPE") return false;
    if (model.value("byte_fallback", false)) return true;
    std::vector<json> steps;
    flatten(tokenizer_json.value("pre_tokenizer", json()), "pretokenizers", steps);
    for (const json& step : steps)
      if (step.value("type", "") == "Metaspace") return true;
    steps.clear();
    flatten(tokenizer_json.value("normalizer", json()), "normalizers", steps);
    for (const json& step : steps)
      if (step.value("type", "") == "Prepend" || step.value("type", "") == "Replace") return true;
    return false;
  } catch (const json::exception&) {
    return false;
  }
}

std::unique_ptr<Tokenizer> spm_tokenizer_from_hf_json(const json& tokenizer_json, const json& config,
                                                      const fs::path& dir, const std::string& source) {
  try {
    const json& model = tokenizer_json.at("model");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (model.contains(key) && !model.at(key).is_null() && !model.at(key).get<std::string>().empty())
        throw Error(source + ": model." + key + " is not supported yet");
    }
    SpmTokenizerSpec spec;
    spec.source = source;
    spec.options = read_space_handling(tokenizer_json, source);
    const bool byte_fallback = model.value("byte_fallback", false);

    std::map<int64_t, std::string> by_id;
    for (const auto& [token, id] : model.at("vocab").items()) by_id[json_token_id(id, source, "model.vocab", token)] = token;
    std::unordered_map<std::string, int32_t> model_index;
    SpmModelSpec proto;
    proto.byte_fallback = byte_fallback;
    proto.add_dummy_prefix = true;
    int64_t expected = 0;
    for (auto& [id, token] : by_id) {
      if (id != expected) throw Error(source + ": model.vocab has no token with id " + std::to_string(expected));
      model_index.emplace(token, int32_t(id));
      proto.pieces.push_back({token, 0.0f, TokenKind::Normal});
      ++expected;
    }
    // Score = minus the rank of the first merge that makes the piece: sentencepiece merges the
    // best-scoring adjacent pair first, HF the lowest-ranked merge, which is then the same pair.
    std::vector<bool> merged(proto.pieces.size(), false);
    const json& merges = model.at("merges");
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const json& merge = merges[rank];
      std::string joined;
      if (merge.is_array() && merge.size() == 2) {
        joined = merge[0].get<std::string>() + merge[1].get<std::string>();
      } else {
        const std::string text = merge.get<std::string>();
        const std::size_t space = text.find(' ', 1);
        if (space == std::string::npos) throw Error(source + ": model.merges entry '" + text + "' is not 'left right'");
        joined = text.substr(0, space) + text.substr(space + 1);
      }
      const auto it = model_index.find(joined);
      if (it == model_index.end()) {
        throw Error(source + ": model.merges entry " + std::to_string(rank) + " makes '" + joined +
                    "', which is not in model.vocab");
      }
      if (!merged[it->second]) {
        merged[it->second] = true;
        proto.pieces[it->second].score = -float(rank);
      }
    }
    // Pieces no merge makes are never the result of one in HF; keep them below every merge.
    for (std::size_t id = 0; id < proto.pieces.size(); ++id)
      if (!merged[id]) proto.pieces[id].score = -float(merges.size() + id);

    for (SpmPiece& piece : proto.pieces)
      if (byte_fallback && is_byte_piece(piece.piece)) piece.kind = TokenKind::Byte;
    std::string unk = model.value("unk_token", json()).is_string() ? model.at("unk_token").get<std::string>() : "";
    if (unk.empty() && model_index.count("<unk>")) unk = "<unk>";
    if (unk.empty() || !model_index.count(unk)) {
      throw Error(source + ": model.unk_token: sentencepiece-style BPE needs an unknown token in model.vocab");
    }
    proto.pieces[model_index.at(unk)].kind = TokenKind::Unknown;

    for (const json& added : tokenizer_json.value("added_tokens", json::array())) {
      const std::string content = added.at("content").get<std::string>();
      for (const char* key : {"lstrip", "rstrip", "single_word"}) {
        if (added.value(key, false)) {
          throw Error(source + ": added token '" + content + "' has " + key + " = true, which is not supported yet");
        }
      }
      const int32_t id = json_token_id(added.at("id"), source, "added_tokens", content);
      const bool special = added.value("special", false);
      // Inside the model the ModelProto marks it, so sentencepiece never merges into it.
      if (id >= 0 && std::size_t(id) < proto.pieces.size() && proto.pieces[id].kind != TokenKind::Unknown)
        proto.pieces[id].kind = special ? TokenKind::Control : TokenKind::UserDefined;
      spec.added.push_back({id, content, special});
    }
    spec.model_proto = build_spm_model_proto(proto);

    auto lookup = [&](const std::string& token, const std::string& key) -> int32_t {
      for (auto it = spec.added.rbegin(); it != spec.added.rend(); ++it)
        if (it->content == token) return it->id;
      const auto found = model_index.find(token);
      if (found == model_index.end()) throw Error(source + ": " + key + " '" + token + "' is not in the vocabulary");
      return found->second;
    };
    fill_specials(config, read_post_processor(tokenizer_json.value("post_processor", json())), lookup, spec.specials);
    add_chat_template_file(dir, spec.specials);
    return std::make_unique<SentencePieceTokenizer>(std::move(spec));
  } catch (const json::exception& e) {
    throw Error(source + ": unexpected structure: " + e.what());
  }
}

std::unique_ptr<Tokenizer> load_sentencepiece_dir(const fs::path& dir) {
  const fs::path model_path = dir / "tokenizer.model";
  const std::string source = model_path.string();
  SpmTokenizerSpec spec;
  spec.source = source;
  spec.model_proto = read_text_file(model_path);
  spec.options.prefix = SpacePrefix::kEvery;
  const std::vector<SpmPiece> pieces = read_spm_pieces(spec.model_proto, source);
  const json config = read_tokenizer_config(dir);
  const std::string config_source = (dir / "tokenizer_config.json").string();
  spec.added = config_added_tokens(config, config_source);

  auto lookup = [&](const std::string& token, const std::string& key) -> int32_t {
    for (auto it = spec.added.rbegin(); it != spec.added.rend(); ++it)
      if (it->content == token) return it->id;
    for (std::size_t id = 0; id < pieces.size(); ++id)
      if (pieces[id].piece == token) return int32_t(id);
    throw Error(config_source + ": " + key + " '" + token + "' is not in the vocabulary");
  };
  // Without a config, sentencepiece's own conventions: <s> / </s> when they are control pieces,
  // the unknown piece, and BOS added (Llama's tokenizer, llama.cpp).
  TokenizerSpecials& specials = spec.specials;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].kind == TokenKind::Unknown && !specials.unk_id) specials.unk_id = int32_t(id);
    if (pieces[id].kind != TokenKind::Control) continue;
    if (pieces[id].piece == "<s>" && !specials.bos_id) specials.bos_id = int32_t(id);
    if (pieces[id].piece == "</s>" && !specials.eos_id) specials.eos_id = int32_t(id);
  }
  specials.add_bos = specials.bos_id.has_value();
  fill_specials(config, PostProcessorSpecials{}, lookup, specials);
  add_chat_template_file(dir, specials);
  return std::make_unique<SentencePieceTokenizer>(std::move(spec));
}

}  // namespace llmft::data
