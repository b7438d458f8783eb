// The sentencepiece tokenizer on a hand-built model: the ModelProto writer and reader, byte
// fallback, special tokens in text, decoding as HF does, offsets, and loss-mask labels of a
// chat-like rendered text (sentencepiece tokens start with "▁", so their bytes do not spell the text).
#include <fstream>

#include "data/example_tokenizer.h"
#include "data/sentencepiece_proto.h"
#include "data/sentencepiece_tokenizer.h"
#include "data/tokenizer_loader.h"
#include "data/unicode_normalize.h"
#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;
using llmft::test::Contains;

namespace {

constexpr int32_t kByteBase = 3;  // <0x00> is id 3

// <unk> <s> </s>, the 256 byte pieces, then characters and merges (higher score merges first).
SpmModelSpec tiny_model() {
  SpmModelSpec spec;
  spec.byte_fallback = true;
  spec.pieces.push_back({"<unk>", 0, TokenKind::Unknown});
  spec.pieces.push_back({"<s>", 0, TokenKind::Control});
  spec.pieces.push_back({"</s>", 0, TokenKind::Control});
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    spec.pieces.push_back({name, 0, TokenKind::Byte});
  }
  float score = 0;
  for (const char* piece : {"▁H", "▁t", "he", "er", "ll", "lo", "▁w", "or", "▁the", "re", "▁there", "▁Hi"})
    spec.pieces.push_back({piece, score -= 1, TokenKind::Normal});
  for (const char* piece : {"▁", "[", "]", "I", "N", "S", "T", "/", "H", "i", "t", "h", "e", "r", "l", "o", "w", "d"})
    spec.pieces.push_back({piece, -100, TokenKind::Normal});
  return spec;
}

std::unique_ptr<SentencePieceTokenizer> tiny_tokenizer(SpacePrefix prefix = SpacePrefix::kEvery) {
  SpmTokenizerSpec spec;
  spec.source = "tiny.model";
  spec.model_proto = build_spm_model_proto(tiny_model());
  spec.specials.bos_id = 1;
  spec.specials.eos_id = 2;
  spec.specials.unk_id = 0;
  spec.specials.add_bos = true;
  spec.options.prefix = prefix;
  return std::make_unique<SentencePieceTokenizer>(std::move(spec));
}

}  // namespace

TEST_CASE("sentencepiece ModelProto written by llmft reads back and loads", "[tokenizer][sentencepiece]") {
  const SpmModelSpec spec = tiny_model();
  const std::string proto = build_spm_model_proto(spec);
  const std::vector<SpmPiece> pieces = read_spm_pieces(proto, "tiny");
  REQUIRE(pieces.size() == spec.pieces.size());
  CHECK(pieces[0].kind == TokenKind::Unknown);
  CHECK(pieces[kByteBase + 0x41].piece == "<0x41>");
  CHECK(pieces[kByteBase + 0x41].kind == TokenKind::Byte);
  CHECK(pieces[kByteBase + 256].piece == "▁H");
  CHECK(pieces[kByteBase + 256].score == -1.0f);
  CHECK(read_spm_pieces(spm_set_dummy_prefix(proto, false, "tiny"), "tiny").size() == pieces.size());
  CHECK_THROWS_WITH(read_spm_pieces("\x0a\x05" "ab", "bad.model"), Contains("bad.model: malformed sentencepiece"));
}

TEST_CASE("sentencepiece tokenizer: prefix, byte fallback, specials, decode", "[tokenizer][sentencepiece]") {
  const auto tok = tiny_tokenizer();
  CHECK(tok->vocab_size() == 3 + 256 + 12 + 18);
  const int32_t there = *tok->token_to_id("▁there");
  const int32_t hi = *tok->token_to_id("▁Hi");
  CHECK(tok->encode("Hi there", false) == Ids{hi, there});
  CHECK(tok->encode("Hi there", true) == Ids{1, hi, there});
  // "é" and "Q" are not pieces: their UTF-8 bytes.
  const int32_t meta = *tok->token_to_id("▁");
  CHECK(tok->encode("é", false) == Ids{meta, kByteBase + 0xC3, kByteBase + 0xA9});
  CHECK(tok->decode(tok->encode("é Q", false)) == "é Q");
  // Control tokens only with parse_special; each segment gets the dummy prefix (kEvery).
  CHECK(tok->encode("Hi</s>Hi", false) == Ids{hi, 2, hi});
  const Ids unparsed = tok->encode("Hi</s>", false, false);
  CHECK(std::find(unparsed.begin(), unparsed.end(), 2) == unparsed.end());
  CHECK(tok->decode(unparsed) == "Hi</s>");
  // Decoding keeps special tokens' text unless asked, strips the one leading space of the prefix,
  // and gives U+FFFD per byte of a byte run that is not UTF-8.
  CHECK(tok->decode(Ids{1, hi, there, 2}) == "<s> Hi there</s>");
  CHECK(tok->decode(Ids{1, hi, there, 2}, true) == "Hi there");
  CHECK(tok->decode(Ids{kByteBase + 0xC3, hi}) == "\xEF\xBF\xBD Hi");
  CHECK(tok->token_bytes(there) == " there");
  CHECK(tok->token_bytes(kByteBase + 0x0A) == "\n");
  CHECK_THROWS_WITH(tok->decode(Ids{tok->vocab_size()}), Contains("tiny.model: token id 289 is outside"));
  CHECK(tok->fingerprint() != tiny_tokenizer(SpacePrefix::kFirst)->fingerprint());
  CHECK(tiny_tokenizer(SpacePrefix::kFirst)->encode("Hi</s>Hi", false) ==
        Ids{hi, 2, *tok->token_to_id("H"), *tok->token_to_id("i")});
}

// Each token's span in the text, derived from what the tokens decode to: a "▁" the tokenizer
// inserted (dummy prefix) covers no text.
std::vector<std::pair<std::size_t, std::size_t>> spans_from_pieces(const Tokenizer& tok, const std::string& text,
                                                                   const Ids& ids) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t pos = 0;
  for (int32_t id : ids) {
    std::string piece = tok.token_bytes(id);
    if (tok.token_kind(id) == TokenKind::Normal && !piece.empty() && piece[0] == ' ' &&
        (pos >= text.size() || text[pos] != ' '))
      piece.erase(0, 1);
    REQUIRE(text.compare(pos, piece.size(), piece) == 0);
    spans.emplace_back(pos, pos + piece.size());
    pos += piece.size();
  }
  REQUIRE(pos == text.size());
  return spans;
}

TEST_CASE("loss mask of a chat rendered for a sentencepiece tokenizer", "[tokenizer][sentencepiece][data]") {
  const auto tok = tiny_tokenizer();
  RenderedExample example;
  example.text = "[INST] Hi there [/INST] Hello world é</s>[INST] Again? [/INST] Yes 👍</s>";
  auto range_of = [&](const std::string& from, const std::string& to) {
    const std::size_t begin = example.text.find(from);
    const std::size_t end = example.text.find(to, begin) + to.size();
    return std::pair<std::size_t, std::size_t>(begin, end);
  };
  example.supervised = {range_of(" Hello", "</s>"), range_of(" Yes", "</s>")};
  example.prepend_bos = true;
  example.append_eos = false;

  std::vector<std::size_t> offsets;
  const Ids ids = tok->encode_with_offsets(example.text, true, offsets);
  CHECK(ids == tok->encode(example.text, false, true));  // one call, same ids
  REQUIRE(offsets.size() == ids.size());

  const TokenizedSample sample = tokenize_example(example, *tok, false, "chat");
  REQUIRE(sample.input_ids.size() == ids.size() + 1);
  CHECK(sample.input_ids[0] == 1);
  CHECK(sample.labels[0] == kIgnoreIndex);
  const auto spans = spans_from_pieces(*tok, example.text, ids);
  Ids targets;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto [begin, end] = spans[i];
    bool inside = false;
    for (const auto& [first, last] : example.supervised) inside = inside || (begin >= first && end <= last && begin < last);
    INFO("token " << i << " '" << tok->token_bytes(ids[i]) << "' at " << begin);
    CHECK(offsets[i] == begin);
    CHECK((sample.labels[i + 1] != kIgnoreIndex) == inside);
    if (sample.labels[i + 1] != kIgnoreIndex) targets.push_back(sample.labels[i + 1]);
  }
  CHECK(tok->decode(targets) == "Hello world é</s> Yes 👍</s>");
}

TEST_CASE("an answer range that starts after the space still trains the answer's first token",
          "[tokenizer][sentencepiece][data]") {
  // Llama-2/Mistral templates write "[/INST] " + answer: the range starts at the answer, but
  // sentencepiece's first answer token ("▁Hello" spelled "▁H" "e" ...) starts at the space.
  const auto tok = tiny_tokenizer();
  RenderedExample example;
  example.text = "[INST] Hi [/INST] Hello</s>";
  const std::size_t begin = example.text.find("Hello");
  example.supervised = {{begin, example.text.size()}};
  const TokenizedSample sample = tokenize_example(example, *tok, false, "chat");
  Ids targets;
  for (std::size_t i = 0; i < sample.labels.size(); ++i) {
    if (sample.labels[i] != kIgnoreIndex) targets.push_back(sample.labels[i]);
  }
  CHECK(tok->decode(targets) == "Hello</s>");
  CHECK(tok->token_bytes(targets.front()) == " H");
}

TEST_CASE("NFC keeps the origin of each normalized byte", "[tokenizer][data]") {
  const NormalizedText same = nfc_with_origins("abc");
  CHECK(same.text == "abc");
  CHECK(same.origin == std::vector<std::size_t>{0, 1, 2, 3});
  const NormalizedText composed = nfc_with_origins("xe\xCC\x81y");  // x e U+0301 y
  CHECK(composed.text == "x\xC3\xA9y");
  CHECK(composed.origin == std::vector<std::size_t>{0, 1, 1, 4, 5});
}

TEST_CASE("tokenizer.model directory with tokenizer_config.json", "[tokenizer][sentencepiece]") {
  llmft::test::TempDir dir;
  std::ofstream(dir.path / "tokenizer.model", std::ios::binary) << build_spm_model_proto(tiny_model());
  std::ofstream(dir.path / "tokenizer_config.json") << R"({
    "add_bos_token": false, "add_eos_token": true, "bos_token": "<s>", "eos_token": {"content": "<|im_end|>"},
    "pad_token": "</s>", "chat_template": "{{ messages }}",
    "added_tokens_decoder": {"289": {"content": "<|im_start|>", "special": true},
                             "290": {"content": "<|im_end|>", "special": true},
                             "291": {"content": "<tool>", "special": false}}})";
  const auto tok = load_tokenizer(dir.path);
  CHECK(tok->vocab_size() == 292);
  CHECK(tok->bos_id() == 1);
  CHECK(tok->eos_id() == 290);
  CHECK(tok->pad_id() == 2);
  CHECK_FALSE(tok->add_bos());
  CHECK(tok->add_eos());
  CHECK(tok->chat_template() == "{{ messages }}");
  CHECK(tok->token_kind(289) == TokenKind::Control);
  CHECK(tok->token_kind(291) == TokenKind::UserDefined);
  const int32_t hi = *tok->token_to_id("▁Hi");
  CHECK(tok->encode("<|im_start|>Hi<tool>", true) == Ids{289, hi, 291, 290});
  CHECK(tok->decode(Ids{289, hi, 291, 290}) == "<|im_start|> Hi<tool><|im_end|>");
  std::ofstream(dir.path / "chat_template.jinja") << "jinja file";
  CHECK(load_tokenizer(dir.path / "tokenizer.model")->chat_template() == "jinja file");
}
