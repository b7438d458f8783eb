#pragma once
// Pre-tokenization for byte-level BPE: before any merge, text is cut into pieces ("words") that
// merges never cross. A pre-tokenizer here is a sequence of regexes; each one splits every piece
// the previous one produced into its matches and the gaps between them, keeping both (HF
// tokenizers' Split with behavior "isolated", and llama.cpp's regex list). Lookarounds see only
// the piece being split. Regexes run through PCRE2 with UTF and UCP, so \s, \p{L} and \p{N} are
// Unicode classes as in HF's Oniguruma regexes.
//
// The regex lists of the vocabulary families, keyed by GGUF's tokenizer.ggml.pre, are at the bottom.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmft::data {

struct TextPiece {
  std::size_t offset = 0;
  std::size_t length = 0;
};

class BpePretokenizer {
 public:
  // Throws llmft::Error naming `source` and the pattern when a regex does not compile.
  BpePretokenizer(std::vector<std::string> patterns, const std::string& source);
  ~BpePretokenizer();
  BpePretokenizer(const BpePretokenizer&) = delete;
  BpePretokenizer& operator=(const BpePretokenizer&) = delete;

  // Replaces `pieces` with the pieces of `text`, in order, together covering all of it.
  // `text` must be valid UTF-8 (the tokenizer sanitises it first). Thread-safe.
  void split(std::string_view text, std::vector<TextPiece>& pieces) const;

  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  struct Regex;
  void split_one(const Regex& regex, std::string_view text, const TextPiece& piece, void* match_data,
                 std::vector<TextPiece>& out) const;

  std::vector<std::string> patterns_;
  std::vector<std::unique_ptr<Regex>> regexes_;
  std::string source_;
};

// How a vocabulary family pre-tokenizes, and the two behaviours llama.cpp keys on the same name.
struct PretokenizerFamily {
  std::vector<std::string> patterns;
  // A whole pre-token found in the vocabulary is emitted as is, without merging (HF BPE's
  // ignore_merges, set in Llama-3's tokenizer.json): some Llama-3 tokens no merge sequence reaches.
  bool ignore_merges = false;
  // Whether BOS is prepended when the GGUF has no tokenizer.ggml.add_bos_token.
  bool add_bos = false;
};

// The family for a tokenizer.ggml.pre value ("gpt-2", "llama-bpe", "qwen2", "smollm", ...), or
// nullopt when the name is not one llmft knows.
std::optional<PretokenizerFamily> find_pretokenizer_family(std::string_view gguf_pre);
// The accepted names, for error messages.
std::string known_pretokenizer_names();

}  // namespace llmft::data
