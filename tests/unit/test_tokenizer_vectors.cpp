// Tokenizers against references: llama.cpp's tokenizer test vectors for real vocabularies
// (byte-level Llama-3, Qwen2, GPT-2 and sentencepiece Llama-2; produced with HF tokenizers) and HF
// tokenizers on SmolLM2-135M's GGUF.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/gguf_vocab.h"
#include "io/gguf.h"
#include "tests/support/catch.h"

using namespace llmft::data;
namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

namespace {

fs::path vectors_dir() {
  return fs::path(LLMFT_SOURCE_DIR) / ".." / "shared" / "testdata" / "tokenizer-vectors";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// ggml-vocab-NAME.gguf.inp: texts, each followed by "\n__ggml_vocab_test__\n".
std::vector<std::string> read_texts(const fs::path& path) {
  const std::string content = read_file(path);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  std::size_t start = 0;
  for (std::size_t end; (end = content.find(separator, start)) != std::string::npos; start = end + separator.size()) {
    texts.push_back(content.substr(start, end - start));
  }
  REQUIRE(start == content.size());
  return texts;
}

// ggml-vocab-NAME.gguf.out: one line of space-separated ids per text.
std::vector<Ids> read_ids(const fs::path& path) {
  std::istringstream in(read_file(path));
  std::vector<Ids> all;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Ids ids;
    for (int32_t id; fields >> id;) ids.push_back(id);
    all.push_back(std::move(ids));
  }
  return all;
}

// llama.cpp's test encodes with add_special = false and parse_special = false.
void check_llama_cpp_vectors(const std::string& name) {
  const fs::path gguf = vectors_dir() / ("ggml-vocab-" + name + ".gguf");
  if (!fs::exists(gguf)) {
    WARN("skipped: " << gguf.string() << " is absent (the shared test data is not checked out)");
    return;
  }
  const auto tokenizer = load_gguf_tokenizer(llmft::io::GgufFile::open(gguf));
  const std::vector<std::string> texts = read_texts(gguf.string() + ".inp");
  const std::vector<Ids> expected = read_ids(gguf.string() + ".out");
  REQUIRE(texts.size() == expected.size());
  REQUIRE(texts.size() > 30);
  std::size_t matched = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO(name << " vector " << i << ": '" << texts[i] << "'");
    const Ids ids = tokenizer->encode(texts[i], false, false);
    CHECK(ids == expected[i]);
    CHECK(tokenizer->decode(ids) == texts[i]);
    matched += ids == expected[i];
  }
  std::cout << "llama.cpp vectors " << name << ": " << matched << "/" << texts.size() << " match\n";
}

// Runs scripts/reference/make_tokenizer_fixtures.py with `options` and returns the parsed `file`
// it wrote, or null when the project venv is absent.
nlohmann::json run_reference_script(const std::string& options, const std::string& file) {
  const fs::path python = fs::path(LLMFT_SOURCE_DIR) / ".venv" / "bin" / "python";
  if (!fs::exists(python)) return nlohmann::json();
  const fs::path script = fs::path(LLMFT_SOURCE_DIR) / "scripts" / "reference" / "make_tokenizer_fixtures.py";
  const fs::path out = fs::temp_directory_path() / ("llmft_tokenizer_fixtures_" + std::to_string(::getpid()));
  fs::create_directories(out);
  std::string command;  // built by appending: GCC 12 misreports `"'" + std::string` (-Wstringop-overflow)
  for (const fs::path& part : {python, script}) command.append("'").append(part.string()).append("' ");
  command.append("--out '").append(out.string()).append("' ").append(options);
  command.append(" > '").append((out / "log.txt").string()).append("' 2>&1");
  if (std::system(command.c_str()) != 0) {
    const std::string log = read_file(out / "log.txt");
    fs::remove_all(out);
    FAIL("reference generation failed: " << command << "\n" << log);
  }
  auto json = nlohmann::json::parse(read_file(out / file));
  fs::remove_all(out);
  return json;
}

// Each reference is generated once per test process.
const nlohmann::json& smollm2_reference() {
  static const nlohmann::json reference = run_reference_script("", "smollm2_tokenizer.json");
  return reference;
}

// Null also when the shared test data is absent.
const nlohmann::json& vocab_random_reference() {
  static const nlohmann::json reference =
      fs::exists(vectors_dir())
          ? run_reference_script("--no-smollm2 --vectors '" + vectors_dir().string() + "'", "vocab_random.json")
          : nlohmann::json();
  return reference;
}

}  // namespace

TEST_CASE("llama.cpp vectors: Llama-3 byte-level BPE (llama-bpe)", "[tokenizer][vectors]") {
  check_llama_cpp_vectors("llama-bpe");
}

TEST_CASE("llama.cpp vectors: Qwen2 byte-level BPE", "[tokenizer][vectors]") { check_llama_cpp_vectors("qwen2"); }

TEST_CASE("llama.cpp vectors: GPT-2 byte-level BPE", "[tokenizer][vectors]") { check_llama_cpp_vectors("gpt-2"); }

// tokenizer.ggml.model = "llama": scores and token types become a sentencepiece ModelProto.
TEST_CASE("llama.cpp vectors: Llama-2 sentencepiece (llama-spm)", "[tokenizer][vectors][sentencepiece]") {
  check_llama_cpp_vectors("llama-spm");
}

// The reference is HF tokenizers with SmolLM2's own tokenizer.json pre-tokenizer (every number
// character split off, then GPT-2's ByteLevel regex), which is also what llama.cpp runs for
// tokenizer.ggml.pre = "smollm". transformers' GGUF import does not know "smollm" and splits with
// GPT-2's regex alone, which differs where a number follows a space run or is not ASCII ("½",
// "３"); there we follow tokenizer.json and llama.cpp, and check that the disagreement is only
// where the two pre-tokenizers cut the text differently.
// SmolLM2's vocabulary lacks 21 byte tokens (0x04, 0x1D, 0xF5.., ...); HF drops those bytes, so
// decode is compared with HF's decode and with the text only where that round-trips.
TEST_CASE("SmolLM2-135M GGUF tokenizer matches HF tokenizers", "[tokenizer][parity]") {
  const nlohmann::json& reference = smollm2_reference();
  if (reference.is_null()) {
    WARN("skipped: no project venv at " LLMFT_SOURCE_DIR "/.venv (run scripts/install-deps.sh)");
    return;
  }
  const auto gguf = llmft::io::GgufFile::open(reference.at("gguf").get<std::string>());
  const auto tokenizer = load_gguf_tokenizer(gguf);
  REQUIRE(tokenizer->vocab_size() == 49152);
  REQUIRE(tokenizer->bos_id() == 1);
  REQUIRE(tokenizer->eos_id() == 2);
  REQUIRE(tokenizer->unk_id() == 0);
  REQUIRE(tokenizer->pad_id() == 2);
  REQUIRE_FALSE(tokenizer->add_bos());
  REQUIRE(tokenizer->chat_template().value_or("").find("<|im_start|>") != std::string::npos);
  REQUIRE(tokenizer->token_kind(1) == TokenKind::Control);

  std::size_t matched = 0;
  std::size_t transformers_disagree = 0;
  const auto& cases = reference.at("cases");
  REQUIRE(cases.size() > 300);
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    INFO("text: '" << text << "'");
    const Ids expected = c.at("ids").get<Ids>();
    const Ids ids = tokenizer->encode(text, false);
    CHECK(ids == expected);
    matched += ids == expected;
    CHECK(tokenizer->encode(text, false, false) == c.at("ids_unparsed").get<Ids>());
    CHECK(tokenizer->encode(text, true) == expected);  // add_bos is false for SmolLM2
    const std::string decoded = c.at("decoded").get<std::string>();
    CHECK(tokenizer->decode(ids) == decoded);
    if (decoded == text) CHECK(tokenizer->decode(ids) == text);
    if (c.at("ids_transformers_gguf").get<Ids>() != expected) {
      ++transformers_disagree;
      CHECK(c.at("pretokenizers_differ").get<bool>());
    }
  }
  CHECK(transformers_disagree > 0);  // the corpus reaches the difference
  std::cout << "SmolLM2 vs HF tokenizers: " << matched << "/" << cases.size() << " texts match ("
            << transformers_disagree << " differ from transformers' GGUF import, as explained)\n";
}

// Seeded random texts (every character class the regexes distinguish, the whitespace characters
// regex engines disagree on, special-token text) on the three llama.cpp vocabularies, against
// HF tokenizers with the vocabulary's own split regex (see make_tokenizer_fixtures.py).
TEST_CASE("llama-bpe, qwen2 and gpt-2 vocabularies match HF tokenizers on random text", "[tokenizer][parity]") {
  const nlohmann::json& reference = vocab_random_reference();
  if (reference.is_null()) {
    WARN("skipped: needs the project venv and " << vectors_dir().string());
    return;
  }
  for (const std::string name : {"llama-bpe", "qwen2", "gpt-2"}) {
    const auto& vocab = reference.at(name);
    const auto tokenizer = load_gguf_tokenizer(llmft::io::GgufFile::open(vocab.at("gguf").get<std::string>()));
    std::size_t matched = 0;
    const auto& cases = vocab.at("cases");
    REQUIRE(cases.size() >= 100);
    for (const auto& c : cases) {
      const std::string text = c.at("text").get<std::string>();
      INFO(name << " text: '" << text << "'");
      const Ids ids = tokenizer->encode(text, false, false);
      CHECK(ids == c.at("ids").get<Ids>());
      CHECK(tokenizer->decode(ids) == text);
      matched += ids == c.at("ids").get<Ids>();
    }
    std::cout << name << " random texts vs HF tokenizers: " << matched << "/" << cases.size() << " match\n";
  }
}
