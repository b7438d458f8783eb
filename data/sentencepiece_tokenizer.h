#pragma once
// Sentencepiece BPE (Llama-2, Mistral, TinyLlama) through libsentencepiece: tokenizer.model files,
// and the ModelProto llmft builds for GGUF "llama" vocabularies and Llama-style tokenizer.json.
//
// Text -> added/special tokens matched whole (tokenizer.h's convention) -> each segment between
// them encoded by libsentencepiece (spaces as "▁", a dummy-prefix "▁" where the options say, byte
// fallback) -> ids. Decoding follows HF's decoders for these tokenizers (Replace "▁" -> " ",
// ByteFallback, Fuse, Strip one leading space): special tokens keep their text, and a run of
// byte tokens that is not UTF-8 becomes one U+FFFD per byte.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/sentencepiece_proto.h"
#include "data/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace llmft::data {

// Which segments (text between special tokens) get the dummy-prefix "▁".
enum class SpacePrefix : uint8_t {
  kNone,
  kFirst,  // only a segment at the start of the text (HF's Metaspace prepend_scheme "first")
  kEvery,  // every segment (a Prepend("▁") normalizer, which HF runs per segment; llama.cpp)
};

struct SpmTokenizerOptions {
  SpacePrefix prefix = SpacePrefix::kFirst;
  // HF's Metaspace prepends only to text not already starting with "▁" (a space), while
  // sentencepiece itself always prepends.
  bool prefix_unless_space = false;
  // Metaspace split = true: merges never cross a "▁" that starts a word.
  bool split_words = false;
};

struct AddedTokenSpec {
  int32_t id = 0;
  std::string content;
  bool special = true;  // Control (matched only with parse_special) or UserDefined (always)
};

struct SpmTokenizerSpec {
  std::string source;       // named in every error
  std::string model_proto;  // serialized ModelProto
  // Added tokens (tokenizer_config.json's added_tokens_decoder, tokenizer.json's added_tokens):
  // ids inside the model override the piece's kind, ids past it extend the vocabulary in order.
  std::vector<AddedTokenSpec> added;
  TokenizerSpecials specials;
  SpmTokenizerOptions options;
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Throws llmft::Error naming spec.source when libsentencepiece rejects the model or an id is
  // out of range.
  explicit SentencePieceTokenizer(SpmTokenizerSpec spec);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                              bool parse_special = true) const override;
  std::vector<int32_t> encode_with_offsets(std::string_view text, bool parse_special,
                                           std::vector<std::size_t>& offsets) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string token_bytes(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int32_t id) const override;
  TokenKind token_kind(int32_t id) const override;
  int32_t vocab_size() const override { return int32_t(pieces_.size()); }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  struct Matcher;
  void check_id(int32_t id) const;
  std::vector<int32_t> encode_impl(std::string_view text, bool add_special, bool parse_special,
                                   std::vector<std::size_t>* offsets) const;
  // Appends the ids (and offsets + base) of one segment free of added tokens.
  void encode_segment(std::string_view text, std::size_t base, bool at_start, std::vector<int32_t>& out,
                      std::vector<std::size_t>* offsets) const;
  void encode_spm(const sentencepiece::SentencePieceProcessor& processor, std::string_view text, std::size_t base,
                  std::vector<int32_t>& out, std::vector<std::size_t>* offsets) const;

  std::string source_;
  std::string fingerprint_;
  SpmTokenizerOptions options_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> with_prefix_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> without_prefix_;
  std::vector<std::string> pieces_;
  std::vector<TokenKind> kinds_;
  std::vector<std::string> bytes_;  // what each token decodes to before the leading-space strip
  std::unordered_map<std::string, int32_t> index_;
  std::unique_ptr<Matcher> matcher_;
};

}  // namespace llmft::data
