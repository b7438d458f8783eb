#pragma once
// Byte-level BPE (GPT-2, Llama-3, Qwen2, SmolLM, ...): text -> special/added tokens matched whole ->
// pre-tokenizer pieces -> bytes of each piece as initial symbols -> merges applied lowest rank
// first (leftmost on ties) until none applies -> ids. Merged pieces are cached per word.
//
// Built from a BpeVocab: the GGUF loader (data/gguf_vocab.h) fills one, and a tokenizer.json reader
// can fill one the same way (pre-tokenizer regexes, merges as pairs, ignore_merges).
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/bpe_pretokenizer.h"
#include "data/tokenizer.h"

namespace llmft::data {

struct BpeVocab {
  std::string source;                // where the vocabulary came from; every error names it
  std::vector<std::string> tokens;   // byte-level spelling ("Ġthe"); added tokens verbatim ("<|im_start|>")
  std::vector<TokenKind> kinds;      // one per token; empty means all Normal
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order, best first
  std::vector<std::string> pretokenizer;  // regexes applied in sequence (see bpe_pretokenizer.h)
  bool ignore_merges = false;             // see PretokenizerFamily::ignore_merges
  // Unicode NFC before pre-tokenization (tokenizer.json "normalizer": {"type": "NFC"}, Qwen2); like
  // HF, applied to the text between special tokens, never to the special tokens themselves.
  bool nfc = false;
  TokenizerSpecials specials;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // Validates the vocabulary (sizes, special ids in range, merges made of known tokens) and throws
  // llmft::Error naming vocab.source and the offending entry.
  explicit BpeTokenizer(BpeVocab vocab);
  ~BpeTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                              bool parse_special = true) const override;
  std::vector<int32_t> encode_with_offsets(std::string_view text, bool parse_special,
                                           std::vector<std::size_t>& offsets) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string token_bytes(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int32_t id) const override;
  TokenKind token_kind(int32_t id) const override;
  int32_t vocab_size() const override { return int32_t(tokens_.size()); }
  std::string fingerprint() const override { return fingerprint_; }

  const std::string& source() const { return source_; }
  const BpePretokenizer& pretokenizer() const { return *pretokenizer_; }

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t id;
  };
  struct SpecialToken {
    std::string text;
    int32_t id;
    bool control;
  };
  struct Scratch;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

  void check_id(int32_t id) const;
  // encode() and encode_with_offsets(); `offsets` may be null.
  std::vector<int32_t> encode_impl(std::string_view text, bool add_special, bool parse_special,
                                   std::vector<std::size_t>* offsets) const;
  // Appends the ids of special-free text (normalize, pre-tokenize, then merge each piece) and, when
  // `offsets` is not null, where each starts in `text` plus `base`.
  void encode_plain(std::string_view text, std::size_t base, Scratch& scratch, std::vector<int32_t>& out,
                    std::vector<std::size_t>* offsets) const;
  // Appends the ids of one pre-tokenized piece, through the word cache.
  void encode_piece(std::string_view piece, Scratch& scratch, std::vector<int32_t>& out) const;
  void merge_piece(std::string_view piece, Scratch& scratch, std::vector<int32_t>& out) const;
  // The longest special token starting at text[pos] that may be matched, or nullptr.
  const SpecialToken* match_special(std::string_view text, std::size_t pos, bool parse_special) const;

  std::string source_;
  std::string fingerprint_;
  std::vector<std::string> tokens_;
  std::vector<TokenKind> kinds_;
  std::vector<std::string> bytes_;  // raw bytes each token stands for
  StringMap token_index_;           // spelling -> id (the last of duplicates, as llama.cpp and HF dicts)
  StringMap raw_index_;             // raw bytes -> id, for ignore_merges
  std::unordered_map<uint64_t, MergeTarget> merges_;  // (left id << 32 | right id) -> rank, result
  std::array<int32_t, 256> byte_token_{};             // byte -> its single-byte token, or -1
  bool ignore_merges_ = false;
  bool nfc_ = false;
  std::unique_ptr<BpePretokenizer> pretokenizer_;

  std::vector<SpecialToken> specials_by_byte_[256];  // by first byte, longest first
  bool has_specials_ = false;

  // Word cache: merged ids per piece. Cleared when full, so it holds the recent vocabulary of the
  // text being encoded; guarded because data loaders encode from several threads.
  static constexpr std::size_t kCacheCapacity = 1 << 16;
  static constexpr std::size_t kMaxCachedPieceBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace llmft::data
