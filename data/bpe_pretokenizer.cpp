#include "data/bpe_pretokenizer.h"

#include <algorithm>
#include <utility>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "data/byte_unicode.h"
#include "io/error.h"

namespace llmft::data {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buffer), std::size_t(n));
}

struct MatchData {
  pcre2_match_data* data;
  // One offset pair is all we read; pcre2_match reports 0 ("too small") for patterns with
  // capture groups but still fills the whole-match pair.
  MatchData() : data(pcre2_match_data_create(1, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

// The GPT-2 split (HF ByteLevel's regex): contractions, letters, digits and other symbols each
// with one optional leading space, then whitespace runs that leave their last space to the next word.
const char* const kGpt2 =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
// Llama-3 (tiktoken cl100k style): case-insensitive contractions, a letter run with one optional
// leading non-letter, digits in groups of up to three, newlines kept with the symbols before them.
const char* const kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: Llama-3's regex with single digits.
const char* const kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// SmolLM / StarCoder: HF's Sequence[Digits(individual_digits), ByteLevel] — every digit is its own
// piece, then the GPT-2 split inside what is left.
const char* const kDigit = R"re(\p{N})re";

// Unicode's White_Space property, which is what \s means in HF's Oniguruma regexes. PCRE2's \s
// (Perl's) also takes U+180E MONGOLIAN VOWEL SEPARATOR, so patterns are rewritten to use this set.
const char* const kWhiteSpace = R"re(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})re";

// `pattern` with \s and \S spelled as White_Space classes (inside a bracket class, \s becomes the
// set's members; \S there has no such spelling and is refused).
std::string spell_white_space(const std::string& pattern, const std::string& source) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (next == 'S') {
        if (in_class) throw Error(source + ": pre-tokenizer regex '" + pattern + "' uses \\S inside [...]");
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct NamedFamily {
  std::vector<std::string_view> names;
  PretokenizerFamily family;
};

const std::vector<NamedFamily>& families() {
  static const std::vector<NamedFamily> table = {
      {{"gpt-2", "mpt", "olmo", "jais"}, {{kGpt2}, false, false}},
      {{"llama-bpe", "llama3", "llama-v3", "falcon3"}, {{kLlama3}, true, true}},
      {{"qwen2", "stablelm2", "deepseek-r1-qwen"}, {{kQwen2}, false, false}},
      {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone"}, {{kDigit, kGpt2}, false, false}},
      // llama.cpp's fallback for a GGUF that names no pre-tokenizer: punctuation runs first, then
      // GPT-2's split, then digit runs cut into threes.
      {{"default"},
       {{R"re([\p{P}\$\+<=>\^~\|]+)re", R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re",
         R"re(\p{N}+)re", R"re([0-9][0-9][0-9])re"},
        false,
        false}},
  };
  return table;
}

}  // namespace

struct BpePretokenizer::Regex {
  pcre2_code* code = nullptr;
  std::string pattern;
  ~Regex() { pcre2_code_free(code); }
};

BpePretokenizer::BpePretokenizer(std::vector<std::string> patterns, const std::string& source)
    : patterns_(std::move(patterns)), source_(source) {
  for (const auto& pattern : patterns_) {
    auto regex = std::make_unique<Regex>();
    regex->pattern = pattern;
    const std::string spelled = spell_white_space(pattern, source_);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(spelled.data()), spelled.size(),
                                PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (regex->code == nullptr) {
      throw Error(source_ + ": pre-tokenizer regex '" + pattern + "' does not compile: " + pcre2_message(error));
    }
    // JIT makes matching several times faster; without it (unsupported CPU) PCRE2 interprets.
    pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);
    regexes_.push_back(std::move(regex));
  }
}

BpePretokenizer::~BpePretokenizer() = default;

void BpePretokenizer::split(std::string_view text, std::vector<TextPiece>& pieces) const {
  pieces.clear();
  if (text.empty()) return;
  pieces.push_back({0, text.size()});
  if (regexes_.empty()) return;
  MatchData match;
  std::vector<TextPiece> next;
  for (const auto& regex : regexes_) {
    next.clear();
    for (const TextPiece& piece : pieces) split_one(*regex, text, piece, match.data, next);
    pieces.swap(next);
  }
}

void BpePretokenizer::split_one(const Regex& regex, std::string_view text, const TextPiece& piece,
                                void* match_data, std::vector<TextPiece>& out) const {
  auto* md = static_cast<pcre2_match_data*>(match_data);
  // The piece alone is the subject, so lookarounds cannot see neighbouring pieces.
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.offset);
  const std::size_t length = piece.length;
  std::size_t gap_start = 0;
  std::size_t search = 0;
  while (search < length) {
    int rc = pcre2_match(regex.code, subject, length, search, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // A pathological piece (a huge run of one class) can outgrow the JIT's 32 KiB stack; the
      // interpreter keeps its backtracking state on the heap.
      rc = pcre2_match(regex.code, subject, length, search, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      throw Error(source_ + ": pre-tokenizer regex '" + regex.pattern + "' failed on a " +
                  std::to_string(length) + "-byte piece: " + pcre2_message(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    const std::size_t start = ovector[0];
    const std::size_t end = ovector[1];
    if (end <= start) {
      // An empty match cuts nothing; step over one character and search again.
      const std::size_t step = start < length ? utf8_char_length(text, piece.offset + start) : 1;
      search = start + std::max<std::size_t>(step, 1);
      continue;
    }
    if (start > gap_start) out.push_back({piece.offset + gap_start, start - gap_start});
    out.push_back({piece.offset + start, end - start});
    gap_start = search = end;
  }
  if (gap_start < length) out.push_back({piece.offset + gap_start, length - gap_start});
}

std::optional<PretokenizerFamily> find_pretokenizer_family(std::string_view gguf_pre) {
  for (const auto& entry : families()) {
    if (std::find(entry.names.begin(), entry.names.end(), gguf_pre) != entry.names.end()) return entry.family;
  }
  return std::nullopt;
}

std::string known_pretokenizer_names() {
  std::string names;
  for (const auto& entry : families()) {
    for (const auto name : entry.names) {
      if (!names.empty()) names += ", ";
      names += name;
    }
  }
  return names;
}

}  // namespace llmft::data
