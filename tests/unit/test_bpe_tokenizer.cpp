// Byte-level BPE on small hand-built vocabularies: the byte alphabet, UTF-8 repair, pre-tokenizer
// splits, merge order, special tokens, decode, and the errors a malformed vocabulary or GGUF gives.
// Real vocabularies are checked against references in test_tokenizer_vectors.cpp.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/bpe_pretokenizer.h"
#include "data/bpe_tokenizer.h"
#include "data/byte_unicode.h"
#include "data/gguf_vocab.h"
#include "io/error.h"
#include "io/gguf.h"
#include "tests/support/catch.h"

using namespace llmft::data;
using llmft::test::Contains;

namespace {

// The 256 single-byte tokens (ids 0..255, in byte order) followed by `extra`.
BpeVocab byte_vocab(const std::vector<std::string>& extra,
                    const std::vector<std::pair<std::string, std::string>>& merges,
                    const std::string& pre = "gpt-2") {
  BpeVocab vocab;
  vocab.source = "test vocab";
  for (unsigned b = 0; b < 256; ++b) vocab.tokens.emplace_back(byte_spelling(static_cast<unsigned char>(b)));
  for (const auto& token : extra) vocab.tokens.push_back(token);
  vocab.merges = merges;
  auto family = find_pretokenizer_family(pre);
  REQUIRE(family.has_value());
  vocab.pretokenizer = family->patterns;
  vocab.ignore_merges = family->ignore_merges;
  return vocab;
}

std::vector<std::string> split(const std::string& pre, const std::string& text) {
  BpePretokenizer pretokenizer(find_pretokenizer_family(pre)->patterns, "test");
  std::vector<TextPiece> pieces;
  pretokenizer.split(text, pieces);
  std::vector<std::string> out;
  std::size_t covered = 0;
  for (const auto& piece : pieces) {
    REQUIRE(piece.offset == covered);  // pieces tile the text in order
    covered += piece.length;
    out.push_back(text.substr(piece.offset, piece.length));
  }
  REQUIRE(covered == text.size());
  return out;
}

using Strings = std::vector<std::string>;
using Ids = std::vector<int32_t>;

}  // namespace

TEST_CASE("the byte alphabet spells every byte as one character and back", "[tokenizer][bpe]") {
  REQUIRE(byte_spelling(' ') == "Ġ");
  REQUIRE(byte_spelling('\n') == "Ċ");
  REQUIRE(byte_spelling('a') == "a");
  REQUIRE(byte_spelling(0xE9) == "é");  // printable Latin-1 stands for itself
  REQUIRE(byte_spelling(0xAD) == "Ń");  // soft hyphen is the last of the 68 remapped bytes
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string spelled = byte_level_encode(all);
  REQUIRE(is_valid_utf8(spelled));
  REQUIRE(byte_level_decode(spelled) == all);
  REQUIRE(byte_level_decode("ĠhelloĊ") == " hello\n");
  REQUIRE_FALSE(byte_level_decode("<|im_start|> x").has_value());  // a raw space is not in the alphabet
  REQUIRE_FALSE(byte_level_decode("日本").has_value());
}

TEST_CASE("invalid UTF-8 becomes one U+FFFD per maximal invalid subpart", "[tokenizer][bpe]") {
  const std::string r = "\xEF\xBF\xBD";
  REQUIRE(utf8_lossy("caf\xC3\xA9") == "caf\xC3\xA9");
  REQUIRE(utf8_lossy("a\xC3") == "a" + r);
  REQUIRE(utf8_lossy("a\xE2\x82z") == "a" + r + "z");  // truncated 3-byte sequence: one replacement
  REQUIRE(utf8_lossy("\xF0\x9F\x98") == r);
  REQUIRE(utf8_lossy("\xED\xA0\x80") == r + r + r);  // surrogates are not UTF-8
  REQUIRE(utf8_lossy("\xC0\xAF") == r + r);           // overlong
  REQUIRE(utf8_lossy("\xF4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
  REQUIRE(utf8_lossy("\x80\xFF") == r + r);
  REQUIRE_FALSE(is_valid_utf8("\xC3"));
  REQUIRE(is_valid_utf8("\xF0\x9F\xA6\x99"));
}

TEST_CASE("pre-tokenizer families split as their reference regexes do", "[tokenizer][bpe]") {
  // GPT-2: one leading space joins a word; a whitespace run leaves its last character to the next
  // piece, where a newline (which cannot lead a word) stands alone.
  REQUIRE(split("gpt-2", "Hello world's  12345\n\nend") ==
          Strings{"Hello", " world", "'s", " ", " 12345", "\n", "\n", "end"});
  REQUIRE(split("gpt-2", "I'LL go") == Strings{"I", "'", "LL", " go"});  // contractions are lower-case only
  // SmolLM: every digit alone, also non-ASCII numbers, then GPT-2 inside the rest.
  REQUIRE(split("smollm", "ab 123 x½") == Strings{"ab", " ", "1", "2", "3", " x", "½"});
  // Llama-3: digits in threes, case-insensitive contractions, a non-letter prefix joins a word,
  // newlines stay with the punctuation before them.
  REQUIRE(split("llama-bpe", "Hello 12345 I'LL \"quoted\"\n\n  x") ==
          Strings{"Hello", " ", "123", "45", " I", "'LL", " \"", "quoted", "\"\n\n", " ", " x"});
  // Qwen2: as Llama-3 with single digits.
  REQUIRE(split("qwen2", "ab 123") == Strings{"ab", " ", "1", "2", "3"});
  REQUIRE(split("gpt-2", "").empty());
  REQUIRE(split("smollm", "日本語 テスト") == Strings{"日本語", " テスト"});
}

TEST_CASE("unknown pre-tokenizer names are refused", "[tokenizer][bpe]") {
  REQUIRE_FALSE(find_pretokenizer_family("bogus").has_value());
  REQUIRE_THAT(known_pretokenizer_names(), Contains("smollm") && Contains("llama-bpe") && Contains("qwen2"));
  REQUIRE_THROWS_WITH(BpePretokenizer({"(unclosed"}, "my.gguf"), Contains("my.gguf") && Contains("(unclosed"));
}

TEST_CASE("merges apply lowest rank first, leftmost on ties", "[tokenizer][bpe]") {
  // ids: 256 "ab", 257 "bc", 258 "abc", 259 "aa", 260 "aaaa"
  const Strings extra{"ab", "bc", "abc", "aa", "aaaa"};
  {
    BpeTokenizer tok(byte_vocab(extra, {{"b", "c"}, {"a", "b"}, {"a", "bc"}}));
    REQUIRE(tok.encode("abc", false) == Ids{258});  // bc first, then a+bc
    REQUIRE(tok.encode("abab", false) == Ids{256, 256});
  }
  {
    BpeTokenizer tok(byte_vocab(extra, {{"a", "b"}, {"b", "c"}, {"a", "bc"}}));
    REQUIRE(tok.encode("abc", false) == Ids{256, 'c'});  // ab wins; no "ab c" merge exists
  }
  {
    BpeTokenizer tok(byte_vocab(extra, {{"a", "a"}, {"aa", "aa"}}));
    REQUIRE(tok.encode("aaaaa", false) == Ids{260, 'a'});
    REQUIRE(tok.encode("aaa", false) == Ids{259, 'a'});
    // Twice, so the second answer comes from the word cache.
    REQUIRE(tok.encode("aaa aaa", false) == Ids{259, 'a', ' ', 259, 'a'});
    REQUIRE(tok.encode("aaa aaa", false) == Ids{259, 'a', ' ', 259, 'a'});
  }
  {
    // Multi-byte characters start as one symbol per byte: "é" is bytes C3 A9.
    BpeTokenizer tok(byte_vocab({"Ã©"}, {{"Ã", "©"}}));
    REQUIRE(tok.encode("é", false) == Ids{256});
    REQUIRE(tok.encode("\xC3", false) == Ids{0xEF, 0xBF, 0xBD});  // repaired to U+FFFD first
  }
}

TEST_CASE("ignore_merges takes a whole pre-token found in the vocabulary", "[tokenizer][bpe]") {
  // "abc" is a token no merge reaches; Llama-3's vocabulary has such entries.
  BpeVocab vocab = byte_vocab({"ab", "abc"}, {{"a", "b"}}, "llama-bpe");
  BpeTokenizer tok(vocab);
  REQUIRE(tok.encode("abc", false) == Ids{257});
  vocab.ignore_merges = false;
  BpeTokenizer merging(vocab);
  REQUIRE(merging.encode("abc", false) == Ids{256, 'c'});
}

TEST_CASE("special tokens are matched whole, longest first, before pre-tokenization", "[tokenizer][bpe]") {
  BpeVocab vocab = byte_vocab({"<|im_start|>", "<|im_start|>x", "<think>", "ab"}, {{"a", "b"}});
  vocab.kinds.assign(vocab.tokens.size(), TokenKind::Normal);
  vocab.kinds[256] = TokenKind::Control;
  vocab.kinds[257] = TokenKind::Control;
  vocab.kinds[258] = TokenKind::UserDefined;
  vocab.specials.bos_id = 256;
  vocab.specials.eos_id = 257;
  vocab.specials.add_bos = true;
  BpeTokenizer tok(vocab);

  REQUIRE(tok.encode("<|im_start|>ab", false) == Ids{256, 259});
  REQUIRE(tok.encode("<|im_start|>xab", false) == Ids{257, 259});  // the longer token wins
  REQUIRE(tok.encode("ab<think>ab", false) == Ids{259, 258, 259});
  REQUIRE(tok.encode("ab", true) == Ids{256, 259});  // add_bos
  // Unparsed: control tokens are plain text, user-defined ones are still matched.
  const Ids unparsed = tok.encode("<|im_start|><think>", false, false);
  REQUIRE(unparsed.size() > 2);
  REQUIRE(unparsed.back() == 258);
  REQUIRE(tok.decode(unparsed) == "<|im_start|><think>");

  REQUIRE(tok.decode(Ids{256, 259, 258}) == "<|im_start|>ab<think>");
  REQUIRE(tok.decode(Ids{256, 259, 258}, true) == "ab<think>");  // only control tokens are skipped
  REQUIRE(tok.token_kind(256) == TokenKind::Control);
  REQUIRE(tok.token_to_id("<think>") == 258);
  REQUIRE(tok.token_to_id("Ġ") == int32_t(' '));
  REQUIRE_FALSE(tok.token_to_id("nope").has_value());
  REQUIRE(tok.id_to_token(' ') == "Ġ");
  REQUIRE(tok.bos_id() == 256);
  REQUIRE(tok.vocab_size() == 260);
}

TEST_CASE("decode joins bytes and repairs characters cut between ids", "[tokenizer][bpe]") {
  BpeTokenizer tok(byte_vocab({}, {}));
  const Ids ids = tok.encode("naïve 🦙", false);
  REQUIRE(tok.decode(ids) == "naïve 🦙");
  REQUIRE(tok.decode(Ids{0xF0, 0x9F}) == "\xEF\xBF\xBD");  // a cut emoji: one U+FFFD, as HF
  REQUIRE(tok.token_bytes(0xF0) == "\xF0");
  REQUIRE_THROWS_WITH(tok.decode(Ids{1, 256}), Contains("test vocab") && Contains("256"));
  REQUIRE_THROWS_WITH(tok.id_to_token(-1), Contains("-1"));
}

TEST_CASE("malformed vocabularies are refused naming the entry", "[tokenizer][bpe]") {
  REQUIRE_THROWS_WITH(BpeTokenizer(byte_vocab({"ab"}, {{"a", "x y"}})),
                      Contains("test vocab") && Contains("merge 0") && Contains("'x y'"));
  REQUIRE_THROWS_WITH(BpeTokenizer(byte_vocab({}, {{"a", "b"}})), Contains("'ab' is not in the vocabulary"));
  BpeVocab vocab = byte_vocab({}, {});
  vocab.specials.eos_id = 999;
  REQUIRE_THROWS_WITH(BpeTokenizer(vocab), Contains("EOS token id 999"));
  vocab = byte_vocab({}, {});
  vocab.kinds.resize(3);
  REQUIRE_THROWS_WITH(BpeTokenizer(vocab), Contains("3 token types for 256 tokens"));
}

namespace {

// A metadata-only GGUF v3 file, written byte by byte as the format specifies.
class GgufWriter {
 public:
  void string(const std::string& key, const std::string& value) {
    kv(key, 8);
    str(value);
  }
  void u32(const std::string& key, uint32_t value) {
    kv(key, 4);
    put(value);
  }
  void strings(const std::string& key, const std::vector<std::string>& values) {
    kv(key, 9);
    put(uint32_t(8));
    put(uint64_t(values.size()));
    for (const auto& v : values) str(v);
  }
  void i32s(const std::string& key, const std::vector<int32_t>& values) {
    kv(key, 9);
    put(uint32_t(5));
    put(uint64_t(values.size()));
    for (auto v : values) put(v);
  }
  std::filesystem::path write(const std::string& name) const {
    std::string out = "GGUF";
    auto append = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    append(uint32_t(3));
    append(uint64_t(0));
    append(uint64_t(count_));
    out += body_;
    out.resize((out.size() + 31) / 32 * 32, '\0');
    const auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path, std::ios::binary) << out;
    return path;
  }

 private:
  template <typename T>
  void put(T v) { body_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void str(const std::string& s) {
    put(uint64_t(s.size()));
    body_ += s;
  }
  void kv(const std::string& key, uint32_t type) {
    str(key);
    put(type);
    ++count_;
  }
  std::string body_;
  uint64_t count_ = 0;
};

std::vector<std::string> byte_tokens_plus(const std::vector<std::string>& extra) {
  std::vector<std::string> tokens;
  for (unsigned b = 0; b < 256; ++b) tokens.emplace_back(byte_spelling(static_cast<unsigned char>(b)));
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  return tokens;
}

std::filesystem::path tiny_gguf(const std::string& name, const std::string& pre, const std::string& merge,
                                std::size_t n_types = 258, const std::string& model = "gpt2") {
  GgufWriter w;
  w.string("general.architecture", "llama");
  w.string("tokenizer.ggml.model", model);
  w.string("tokenizer.ggml.pre", pre);
  w.strings("tokenizer.ggml.tokens", byte_tokens_plus({"ab", "<|x|>"}));
  std::vector<int32_t> types(n_types, 1);
  if (n_types == 258) types[257] = 3;
  w.i32s("tokenizer.ggml.token_type", types);
  w.strings("tokenizer.ggml.merges", {merge});
  w.u32("tokenizer.ggml.eos_token_id", 257);
  w.string("tokenizer.chat_template", "{{ messages }}");
  return w.write("llmft_test_" + name + ".gguf");
}

}  // namespace

TEST_CASE("a GGUF vocabulary becomes a tokenizer, and its mistakes name file and key", "[tokenizer][bpe][gguf]") {
  {
    const auto path = tiny_gguf("ok", "gpt-2", "a b");
    auto tok = load_gguf_tokenizer(llmft::io::GgufFile::open(path));
    REQUIRE(tok->encode("ab<|x|>", false) == Ids{256, 257});
    REQUIRE(tok->eos_id() == 257);
    REQUIRE_FALSE(tok->bos_id().has_value());
    REQUIRE_FALSE(tok->add_bos());
    REQUIRE(tok->chat_template() == "{{ messages }}");
    REQUIRE(tok->token_kind(257) == TokenKind::Control);
    std::filesystem::remove(path);
  }
  {
    const auto path = tiny_gguf("llama3", "llama-bpe", "a b");
    const BpeVocab vocab = read_gguf_bpe_vocab(llmft::io::GgufFile::open(path));
    REQUIRE(vocab.ignore_merges);
    REQUIRE(vocab.specials.add_bos);  // Llama-3's default when the file does not say
    std::filesystem::remove(path);
  }
  struct Bad {
    std::filesystem::path path;
    std::vector<std::string> expected;
  };
  const std::vector<Bad> bad = {
      {tiny_gguf("pre", "bogus-pre", "a b"), {"llmft_test_pre.gguf", "tokenizer.ggml.pre", "bogus-pre"}},
      {tiny_gguf("merge", "gpt-2", "ab"), {"llmft_test_merge.gguf", "tokenizer.ggml.merges", "entry 0", "'ab'"}},
      {tiny_gguf("types", "gpt-2", "a b", 5), {"llmft_test_types.gguf", "tokenizer.ggml.token_type", "5 entries"}},
      {tiny_gguf("model", "gpt-2", "a b", 258, "bert"), {"llmft_test_model.gguf", "tokenizer.ggml.model", "bert"}},
  };
  for (const auto& [path, expected] : bad) {
    INFO(path.string());
    try {
      load_gguf_tokenizer(llmft::io::GgufFile::open(path));
      FAIL("no error");
    } catch (const llmft::Error& e) {
      for (const auto& part : expected) CHECK_THAT(e.what(), Contains(part));
    }
    std::filesystem::remove(path);
  }
}
