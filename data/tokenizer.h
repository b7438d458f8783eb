#pragma once
// One interface for every tokenizer llmft reads: byte-level BPE (GGUF vocabularies, tokenizer.json)
// and sentencepiece BPE (tokenizer.model, Llama-style tokenizer.json, GGUF "llama" vocabularies). Ids are int32 as in llama.cpp and PyTorch's embedding index.
//
// Conventions shared by all implementations:
//  - encode() matches special/added tokens written in the text before any other processing
//    (leftmost, longest first). Control tokens (BOS, <|im_start|>, ...) are matched only when
//    parse_special is true, so user text can never forge them; user-defined added tokens are
//    always matched. This is what HF tokenizers does with split_special_tokens and what
//    llama.cpp does with parse_special.
//  - add_special adds BOS/EOS where the vocabulary asks for it (add_bos()/add_eos()).
//  - decode() returns valid UTF-8: byte sequences that are not UTF-8 (a multi-byte character
//    cut between ids) become U+FFFD, one per maximal invalid subpart, as HF's decoders do.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmft::data {

// What a vocabulary entry is (GGUF's tokenizer.ggml.token_type values 1..6, HF's added-token flags).
enum class TokenKind : uint8_t {
  Normal,       // learned piece
  Control,      // special added token: BOS/EOS/<|im_start|>; matched only with parse_special
  UserDefined,  // non-special added token: always matched whole, decoded verbatim
  Unknown,      // the unk token
  Unused,       // placeholder entry
  Byte,         // sentencepiece byte fallback <0xNN>
};

// The facts about a vocabulary every consumer needs (chat templates, SFT masking, padding).
struct TokenizerSpecials {
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
  std::optional<int32_t> pad_id;
  std::optional<int32_t> unk_id;
  bool add_bos = false;  // encode(text, add_special=true) prepends BOS
  bool add_eos = false;  // ... and appends EOS
  std::optional<std::string> chat_template;  // Jinja source as shipped with the model
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids for `text` (any bytes; invalid UTF-8 is read as U+FFFD, as Python/Rust strings do).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                                      bool parse_special = true) const = 0;
  // The same ids as encode(text, false, parse_special), and for each the byte offset in `text` where
  // the text it stands for starts (non-decreasing). Normalizers and sentencepiece's "▁" mean token
  // bytes need not spell `text`, so loss masks align by these offsets. A token made of inserted
  // text only (the dummy-prefix "▁") starts where the text after it starts. The default suits
  // tokenizers whose tokens' bytes spell the text exactly.
  virtual std::vector<int32_t> encode_with_offsets(std::string_view text, bool parse_special,
                                                   std::vector<std::size_t>& offsets) const {
    std::vector<int32_t> ids = encode(text, /*add_special=*/false, parse_special);
    offsets.clear();
    std::size_t offset = 0;
    for (int32_t id : ids) {
      offsets.push_back(std::min(offset, text.size()));
      offset += token_bytes(id).size();
    }
    return ids;
  }
  // UTF-8 text of `ids`; throws llmft::Error naming the id when one is out of range.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  // Raw bytes one token stands for (possibly part of a UTF-8 character): for streaming output.
  virtual std::string token_bytes(int32_t id) const = 0;

  // The vocabulary entry as stored (byte-level spelling such as "Ġhello", or "▁hello").
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string& id_to_token(int32_t id) const = 0;  // throws llmft::Error when out of range
  virtual TokenKind token_kind(int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;
  // SHA-256 hex over everything that decides what encode() returns (vocabulary, merges or model,
  // pre-tokenizer, normalizer, specials) and the implementation's version: keys the token cache, so
  // a changed vocabulary or a fixed tokenizer bug never reuses stale ids.
  virtual std::string fingerprint() const = 0;

  const TokenizerSpecials& specials() const { return specials_; }
  std::optional<int32_t> bos_id() const { return specials_.bos_id; }
  std::optional<int32_t> eos_id() const { return specials_.eos_id; }
  std::optional<int32_t> pad_id() const { return specials_.pad_id; }
  std::optional<int32_t> unk_id() const { return specials_.unk_id; }
  bool add_bos() const { return specials_.add_bos; }
  bool add_eos() const { return specials_.add_eos; }
  const std::optional<std::string>& chat_template() const { return specials_.chat_template; }

 protected:
  explicit Tokenizer(TokenizerSpecials specials) : specials_(std::move(specials)) {}
  TokenizerSpecials specials_;
};

}  // namespace llmft::data
