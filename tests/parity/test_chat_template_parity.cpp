// tokenizer.json reading and ChatML rendering against Hugging Face: ids from `tokenizers` and
// transformers' apply_chat_template (scripts/reference/tokenizer_json_reference.py) for
//  - tiny_chat's tokenizer (byte-level BPE trained with `tokenizers` by the fixture script), and
//  - SmolLM2-135M's vocabulary exported from its GGUF as llmft convert writes it (with SmolLM2's
//    chat template, which inserts a default system prompt).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/gguf_vocab.h"
#include "data/hf_tokenizer_export.h"
#include "data/tokenizer_loader.h"
#include "io/gguf.h"
#include "io/model_locator.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

namespace {

// Runs the reference script on `tokenizer_dir`; null json when the project venv is absent.
nlohmann::json hf_reference(const fs::path& tokenizer_dir, const fs::path& scratch) {
  const fs::path python = fs::path(LLMFT_SOURCE_DIR) / ".venv" / "bin" / "python";
  if (!fs::exists(python)) return nlohmann::json();
  const fs::path script = fs::path(LLMFT_SOURCE_DIR) / "scripts" / "reference" / "tokenizer_json_reference.py";
  const fs::path out = scratch / "reference.json";
  std::string command;
  command.append("'").append(python.string()).append("' '").append(script.string()).append("' --tokenizer '");
  command.append(tokenizer_dir.string()).append("' --out '").append(out.string()).append("' > '");
  command.append((scratch / "log.txt").string()).append("' 2>&1");
  if (std::system(command.c_str()) != 0) FAIL("reference failed: " << command << "\n" << llmft::test::read_file_bytes(scratch / "log.txt"));
  return nlohmann::json::parse(llmft::test::read_file_bytes(out));
}

void check_corpus(const Tokenizer& tokenizer, const nlohmann::json& reference) {
  REQUIRE(reference["corpus"].size() > 40);
  for (const auto& entry : reference["corpus"]) {
    const std::string text = entry["text"];
    INFO("text: '" << text << "'");
    CHECK(tokenizer.encode(text, /*add_special=*/false) == entry["ids"].get<Ids>());
    CHECK(tokenizer.encode(text, /*add_special=*/true) == entry["ids_special"].get<Ids>());
  }
}

// Each reference chat through load_dataset (chat format, template auto): ids equal
// apply_chat_template's, and the supervised tokens spell exactly the assistant contents, each
// followed by <|im_end|>.
void check_chats(const Tokenizer& tokenizer, const nlohmann::json& reference, const fs::path& scratch) {
  REQUIRE(reference["chats"].size() >= 4);
  const fs::path path = scratch / "chats.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    for (const auto& chat : reference["chats"]) out << nlohmann::json{{"messages", chat["messages"]}}.dump() << "\n";
  }
  DatasetOptions options;
  options.path = path;
  const TokenizedDataset data = load_dataset(options, tokenizer);
  CHECK(data.template_used == "chatml");
  REQUIRE(data.stats.records == int64_t(reference["chats"].size()));
  std::size_t sample = 0;
  for (const auto& chat : reference["chats"]) {
    std::string expected_targets;
    for (const auto& message : chat["messages"])
      if (message["role"] == "assistant") expected_targets += message["content"].get<std::string>() + "<|im_end|>";
    REQUIRE(sample < data.samples.size());
    const TokenizedSample& s = data.samples[sample++];
    INFO("chat: " << chat["messages"].dump());
    CHECK(s.input_ids == chat["ids"].get<Ids>());
    Ids targets;
    for (int32_t label : s.labels)
      if (label != kIgnoreIndex) targets.push_back(label);
    CHECK(tokenizer.decode(targets) == expected_targets);
  }
}

}  // namespace

TEST_CASE("tokenizer.json trained by HF tokenizers: ids and chat template match HF", "[data][parity][fixtures]") {
  const fs::path dir = fs::path(LLMFT_FIXTURE_DIR) / "tiny_chat";
  REQUIRE(fs::exists(dir / "tokenizer.json"));
  const auto tokenizer = load_tokenizer(dir / "model.safetensors");
  CHECK(tokenizer->vocab_size() == 400);
  CHECK(tokenizer->eos_id() == tokenizer->token_to_id("<|im_end|>"));
  CHECK(tokenizer->pad_id() == tokenizer->token_to_id("<|endoftext|>"));
  CHECK(tokenizer->token_kind(*tokenizer->token_to_id("<|im_start|>")) == TokenKind::Control);
  REQUIRE(tokenizer->chat_template());
  llmft::test::TempDir scratch;
  const nlohmann::json reference = hf_reference(dir, scratch.path);
  if (reference.is_null()) {
    WARN("skipped: no project venv");
    return;
  }
  check_corpus(*tokenizer, reference);
  check_chats(*tokenizer, reference, scratch.path);
}

TEST_CASE("tiny_chat datasets load with the expected templates", "[data][fixtures]") {
  const fs::path dir = fs::path(LLMFT_FIXTURE_DIR) / "tiny_chat";
  const auto tokenizer = load_tokenizer(dir);
  const std::pair<const char*, RecordFormat> files[] = {{"train.jsonl", RecordFormat::kChat},
                                                        {"eval.jsonl", RecordFormat::kChat},
                                                        {"alpaca.jsonl", RecordFormat::kAlpaca},
                                                        {"text.jsonl", RecordFormat::kText}};
  const char* expected_template[] = {"chatml", "chatml", "alpaca", "none"};
  const int64_t expected_records[] = {64, 16, 32, 32};
  for (int i = 0; i < 4; ++i) {
    DatasetOptions options;
    options.path = dir / files[i].first;
    options.format = files[i].second;
    options.max_seq_len = 256;
    const TokenizedDataset data = load_dataset(options, *tokenizer);
    INFO(files[i].first);
    CHECK(data.template_used == expected_template[i]);
    CHECK(data.stats.records == expected_records[i]);
    CHECK(int64_t(data.samples.size()) == expected_records[i]);
    CHECK(data.stats.dropped == 0);
    CHECK(data.stats.supervised_tokens > 0);
    CHECK(data.stats.supervised_tokens < data.stats.tokens);
  }
}

TEST_CASE("SmolLM2's exported tokenizer.json: ids and chat template match HF", "[data][parity]") {
  const auto gguf = llmft::io::find_default_model();
  if (!gguf) {
    WARN("skipped: the bundled SmolLM2 GGUF is not installed");
    return;
  }
  const BpeVocab vocab = read_gguf_bpe_vocab(llmft::io::GgufFile::open(*gguf));
  llmft::test::TempDir dir;
  std::ofstream(dir.path / "tokenizer.json") << hf_tokenizer_json(vocab).dump();
  std::ofstream(dir.path / "tokenizer_config.json") << hf_tokenizer_config_json(vocab, 8192).dump();
  const auto tokenizer = load_tokenizer(dir.path);
  const auto from_gguf = load_tokenizer(*gguf);
  CHECK(tokenizer->vocab_size() == from_gguf->vocab_size());
  CHECK(tokenizer->eos_id() == from_gguf->eos_id());
  CHECK(tokenizer->bos_id() == from_gguf->bos_id());
  CHECK(tokenizer->add_bos() == from_gguf->add_bos());
  CHECK(tokenizer->chat_template() == from_gguf->chat_template());
  const nlohmann::json reference = hf_reference(dir.path, dir.path);
  if (reference.is_null()) {
    WARN("skipped: no project venv");
    return;
  }
  check_corpus(*tokenizer, reference);
  for (const auto& entry : reference["corpus"])
    CHECK(from_gguf->encode(entry["text"].get<std::string>(), false) == entry["ids"].get<Ids>());
  check_chats(*tokenizer, reference, dir.path);
  check_chats(*from_gguf, reference, dir.path);
}
