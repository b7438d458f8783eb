#include "data/gguf_vocab.h"

#include <limits>

#include "data/bpe_pretokenizer.h"
#include "data/sentencepiece_proto.h"
#include "data/sentencepiece_tokenizer.h"
#include "io/error.h"

namespace llmft::data {
namespace {

std::string where(const io::GgufFile& file, const std::string& key) {
  return "GGUF file '" + file.path().string() + "': metadata key '" + key + "'";
}

std::optional<int32_t> token_id(const io::GgufFile& file, const std::string& key) {
  const std::optional<int64_t> value = file.get_int_or(key);
  if (!value) return std::nullopt;
  if (*value < 0 || *value > std::numeric_limits<int32_t>::max()) {
    throw Error(where(file, key) + " is " + std::to_string(*value) + ", not a token id");
  }
  return int32_t(*value);
}

TokenKind token_kind(const io::GgufFile& file, int64_t type, std::size_t index) {
  switch (type) {
    case 0:  // "undefined": written by old converters for ordinary pieces
    case 1: return TokenKind::Normal;
    case 2: return TokenKind::Unknown;
    case 3: return TokenKind::Control;
    case 4: return TokenKind::UserDefined;
    case 5: return TokenKind::Unused;
    case 6: return TokenKind::Byte;
    default:
      throw Error(where(file, "tokenizer.ggml.token_type") + " entry " + std::to_string(index) + " is " +
                  std::to_string(type) + ", not a token type (0..6)");
  }
}

}  // namespace

BpeVocab read_gguf_bpe_vocab(const io::GgufFile& file) {
  BpeVocab vocab;
  vocab.source = "GGUF file '" + file.path().string() + "'";
  // convert and model export call this directly: another kind's tokens and merges would otherwise be
  // written out as a byte-level BPE tokenizer that tokenizes differently.
  const std::optional<std::string> kind = file.get_string_or("tokenizer.ggml.model");
  if (kind && *kind != "gpt2") {
    throw Error(where(file, "tokenizer.ggml.model") + " is '" + *kind +
                "', not 'gpt2' (byte-level BPE), the only GGUF vocabulary llmft exports as tokenizer.json");
  }

  const std::string pre = file.get_string_or("tokenizer.ggml.pre").value_or("default");
  const std::optional<PretokenizerFamily> family = find_pretokenizer_family(pre);
  if (!family) {
    throw Error(where(file, "tokenizer.ggml.pre") + " is '" + pre + "', not a pre-tokenizer llmft knows (" +
                known_pretokenizer_names() + ")");
  }
  vocab.pretokenizer = family->patterns;
  vocab.ignore_merges = family->ignore_merges;

  vocab.tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (file.find("tokenizer.ggml.token_type") != nullptr) {
    const std::vector<int64_t> types = file.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != vocab.tokens.size()) {
      throw Error(where(file, "tokenizer.ggml.token_type") + " has " + std::to_string(types.size()) +
                  " entries for " + std::to_string(vocab.tokens.size()) + " tokens");
    }
    vocab.kinds.reserve(types.size());
    for (std::size_t i = 0; i < types.size(); ++i) vocab.kinds.push_back(token_kind(file, types[i], i));
  }

  const std::vector<std::string> merges = file.get_string_array("tokenizer.ggml.merges");
  vocab.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::string& merge = merges[i];
    // Byte-level pieces never contain a space, but the first piece may itself be " " in
    // vocabularies that keep raw spaces, so the separator is the first space after position 0.
    const std::size_t space = merge.find(' ', 1);
    if (space == std::string::npos || space + 1 >= merge.size()) {
      throw Error(where(file, "tokenizer.ggml.merges") + " entry " + std::to_string(i) + " '" + merge +
                  "' is not two tokens separated by a space");
    }
    vocab.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
  }

  TokenizerSpecials& specials = vocab.specials;
  specials.bos_id = token_id(file, "tokenizer.ggml.bos_token_id");
  specials.eos_id = token_id(file, "tokenizer.ggml.eos_token_id");
  specials.unk_id = token_id(file, "tokenizer.ggml.unknown_token_id");
  specials.pad_id = token_id(file, "tokenizer.ggml.padding_token_id");
  // Files that do not say follow llama.cpp's per-family default (Llama-3 adds BOS).
  specials.add_bos = file.get_bool_or("tokenizer.ggml.add_bos_token").value_or(family->add_bos);
  specials.add_eos = file.get_bool_or("tokenizer.ggml.add_eos_token").value_or(false);
  specials.chat_template = file.get_string_or("tokenizer.chat_template");
  return vocab;
}

SpmTokenizerSpec read_gguf_spm_spec(const io::GgufFile& file) {
  SpmTokenizerSpec spec;
  spec.source = "GGUF file '" + file.path().string() + "'";
  const std::vector<std::string> tokens = file.get_string_array("tokenizer.ggml.tokens");
  const std::vector<double> scores = file.get_float_array("tokenizer.ggml.scores");
  if (scores.size() != tokens.size()) {
    throw Error(where(file, "tokenizer.ggml.scores") + " has " + std::to_string(scores.size()) + " entries for " +
                std::to_string(tokens.size()) + " tokens");
  }
  std::vector<int64_t> types(tokens.size(), 1);
  if (file.find("tokenizer.ggml.token_type") != nullptr) {
    types = file.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != tokens.size()) {
      throw Error(where(file, "tokenizer.ggml.token_type") + " has " + std::to_string(types.size()) +
                  " entries for " + std::to_string(tokens.size()) + " tokens");
    }
  }
  SpmModelSpec proto;
  proto.add_dummy_prefix = true;
  bool has_unknown = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const TokenKind kind = token_kind(file, types[i], i);
    proto.pieces.push_back({tokens[i], float(scores[i]), kind});
    proto.byte_fallback = proto.byte_fallback || kind == TokenKind::Byte;
    has_unknown = has_unknown || kind == TokenKind::Unknown;
  }
  if (!has_unknown) throw Error(where(file, "tokenizer.ggml.token_type") + " marks no unknown token (type 2)");
  spec.model_proto = build_spm_model_proto(proto);
  // llama.cpp puts the space prefix before every text segment between special tokens.
  spec.options.prefix = file.get_bool_or("tokenizer.ggml.add_space_prefix").value_or(true) ? SpacePrefix::kEvery
                                                                                           : SpacePrefix::kNone;
  TokenizerSpecials& specials = spec.specials;
  specials.bos_id = token_id(file, "tokenizer.ggml.bos_token_id");
  specials.eos_id = token_id(file, "tokenizer.ggml.eos_token_id");
  specials.unk_id = token_id(file, "tokenizer.ggml.unknown_token_id");
  specials.pad_id = token_id(file, "tokenizer.ggml.padding_token_id");
  specials.add_bos = file.get_bool_or("tokenizer.ggml.add_bos_token").value_or(true);  // llama.cpp's default for SPM
  specials.add_eos = file.get_bool_or("tokenizer.ggml.add_eos_token").value_or(false);
  specials.chat_template = file.get_string_or("tokenizer.chat_template");
  return spec;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const io::GgufFile& file) {
  const std::string model = file.get_string("tokenizer.ggml.model");
  if (model == "gpt2") return std::make_unique<BpeTokenizer>(read_gguf_bpe_vocab(file));
  if (model == "llama") return std::make_unique<SentencePieceTokenizer>(read_gguf_spm_spec(file));
  throw Error(where(file, "tokenizer.ggml.model") + " is '" + model +
              "', not a tokenizer kind llmft reads from GGUF (supported: 'gpt2' byte-level BPE, 'llama' sentencepiece)");
}

}  // namespace llmft::data
