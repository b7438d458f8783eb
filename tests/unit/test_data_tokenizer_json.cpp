// The tokenizer.json / tokenizer_config.json reader on hand-written files: both merge spellings,
// added tokens, BOS from TemplateProcessing, pre-tokenizer mapping, and the unsupported cases.
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/bpe_pretokenizer.h"
#include "data/hf_tokenizer_json.h"
#include "data/tokenizer_loader.h"
#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
using nlohmann::json;
namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;
using llmft::test::Contains;

namespace {

json small_tokenizer_json() {
  return json::parse(R"({
    "version": "1.0", "normalizer": null,
    "added_tokens": [{"id": 6, "content": "<s>", "special": true},
                     {"id": 7, "content": "<tool>", "special": false}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [6], "tokens": ["<s>"]}}},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "ignore_merges": false,
              "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "c": 4, "abc": 5},
              "merges": ["a b", ["ab", "c"]]}
  })");
}

void write_json(const fs::path& path, const json& value) { std::ofstream(path) << value.dump(); }

}  // namespace

TEST_CASE("tokenizer.json: vocabulary, merges, added tokens and BOS", "[data]") {
  llmft::test::TempDir dir;
  write_json(dir.path / "tokenizer.json", small_tokenizer_json());
  write_json(dir.path / "tokenizer_config.json",
             json::parse(R"({"bos_token": {"content": "<s>"}, "eos_token": "<s>", "pad_token": null,
                             "chat_template": [{"name": "default", "template": "X"}]})"));
  const auto tokenizer = load_tokenizer(dir.path);
  CHECK(tokenizer->vocab_size() == 8);
  CHECK(tokenizer->bos_id() == 6);
  CHECK(tokenizer->eos_id() == 6);
  CHECK(!tokenizer->pad_id());
  CHECK(tokenizer->add_bos());
  CHECK(!tokenizer->add_eos());
  CHECK(tokenizer->chat_template() == std::optional<std::string>("X"));
  CHECK(tokenizer->token_kind(6) == TokenKind::Control);
  CHECK(tokenizer->token_kind(7) == TokenKind::UserDefined);
  CHECK(tokenizer->encode("abc ab<s>", true) == Ids{6, 5, 3, 2, 6});
  CHECK(tokenizer->encode("a<tool>", false, false) == Ids{0, 7});

  // chat_template.jinja beside the config wins, as in transformers.
  std::ofstream(dir.path / "chat_template.jinja") << "Y";
  std::ofstream(dir.path / "model.safetensors") << "";  // only its directory is read
  CHECK(load_tokenizer(dir.path / "model.safetensors")->chat_template() == std::optional<std::string>("Y"));
}

TEST_CASE("tokenizer.json pre-tokenizers map to the regex list", "[data]") {
  json tj = small_tokenizer_json();
  tj["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": true},
      {"type": "Split", "pattern": {"String": "a.b"}, "behavior": "Isolated", "invert": false},
      {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
  const BpeVocab vocab = bpe_vocab_from_hf_json(tj, json(), "t.json");
  CHECK(vocab.pretokenizer == std::vector<std::string>{R"(\p{N})", R"(a\.b)", R"(\s+)"});
  CHECK(vocab.specials.bos_id == 6);  // no config: the post-processor names BOS
  CHECK(vocab.specials.add_bos);

  tj["pre_tokenizer"] = {{"type", "ByteLevel"}, {"use_regex", true}};
  CHECK(bpe_vocab_from_hf_json(tj, json(), "t.json").pretokenizer == find_pretokenizer_family("gpt-2")->patterns);
}

TEST_CASE("tokenizer.json kinds llmft does not read fail clearly", "[data]") {
  json wordpiece = small_tokenizer_json();
  wordpiece["model"]["type"] = "WordPiece";
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(wordpiece, json(), "w.json"),
                    Contains("w.json: model.type WordPiece is not supported yet"));
  json normalized = small_tokenizer_json();
  normalized["normalizer"] = {{"type", "NFKC"}};
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(normalized, json(), "n.json"), Contains("normalizer NFKC is not supported yet"));
  json nfc = small_tokenizer_json();
  nfc["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}})}};
  CHECK(bpe_vocab_from_hf_json(nfc, json(), "nfc.json").nfc);
  json metaspace = small_tokenizer_json();
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(metaspace, json(), "m.json"), Contains("Metaspace is not supported yet"));
  json stripped = small_tokenizer_json();
  stripped["added_tokens"][0]["lstrip"] = true;
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(stripped, json(), "s.json"), Contains("'<s>' has lstrip = true"));
  json fallback = small_tokenizer_json();
  fallback["model"]["byte_fallback"] = true;
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(fallback, json(), "f.json"), Contains("byte_fallback"));
  json gap = small_tokenizer_json();
  gap["added_tokens"][1]["id"] = 9;
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(gap, json(), "g.json"), Contains("no token with id 7"));
  CHECK_THROWS_WITH(bpe_vocab_from_hf_json(small_tokenizer_json(), json{{"eos_token", "</s>"}}, "e.json"),
                    Contains("eos_token '</s>' is not in the vocabulary"));

  llmft::test::TempDir dir;
  CHECK_THROWS_WITH(load_tokenizer(dir.path), Contains("no tokenizer.json"));
  std::ofstream(dir.path / "tokenizer.model") << "x";
  CHECK_THROWS_WITH(load_tokenizer(dir.path), Contains("tokenizer.model: malformed sentencepiece protobuf data"));
  std::ofstream(dir.path / "tokenizer.json") << "{ broken";
  CHECK_THROWS_WITH(load_tokenizer(dir.path), Contains("tokenizer.json: malformed JSON"));
  CHECK_THROWS_WITH(load_tokenizer(dir.path / "nothing.gguf"), Contains("no such file"));
}
