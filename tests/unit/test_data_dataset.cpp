// load_dataset on hand examples: formats, templates, prompt masking, truncation, errors, splitting.
// The tokenizer has one token per byte (no merges) plus three ChatML specials, so every expected id
// sequence can be written out by hand.
#include <fstream>
#include <string>
#include <vector>

#include "data/bpe_pretokenizer.h"
#include "data/bpe_tokenizer.h"
#include "data/byte_unicode.h"
#include "data/dataset.h"
#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::data;
namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

namespace {

constexpr int32_t kEndOfText = 256, kImStart = 257, kImEnd = 258;
constexpr int32_t M = kIgnoreIndex;

BpeTokenizer byte_tokenizer(std::optional<std::string> chat_template = std::nullopt, bool add_bos = false) {
  BpeVocab vocab;
  vocab.source = "byte-vocab";
  for (int b = 0; b < 256; ++b) vocab.tokens.emplace_back(byte_spelling(static_cast<unsigned char>(b)));
  vocab.kinds.assign(256, TokenKind::Normal);
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    vocab.tokens.emplace_back(special);
    vocab.kinds.push_back(TokenKind::Control);
  }
  vocab.pretokenizer = find_pretokenizer_family("gpt-2")->patterns;
  vocab.specials.eos_id = kImEnd;
  vocab.specials.bos_id = kEndOfText;
  vocab.specials.pad_id = kEndOfText;
  vocab.specials.add_bos = add_bos;
  vocab.specials.chat_template = std::move(chat_template);
  return BpeTokenizer(std::move(vocab));
}

const std::string kChatml = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

Ids bytes(const std::string& text) { return Ids(text.begin(), text.end()); }
Ids masked(const std::string& text) { return Ids(text.size(), M); }
Ids cat(std::initializer_list<Ids> parts) {
  Ids out;
  for (const Ids& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

fs::path write(const llmft::test::TempDir& dir, const std::string& name, const std::string& content) {
  const fs::path path = dir.path / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TokenizedDataset load(const fs::path& path, RecordFormat format, const Tokenizer& tokenizer,
                      const std::string& template_name = "auto", int64_t max_seq_len = 2048, bool train_on_prompt = false) {
  DatasetOptions options;
  options.path = path;
  options.format = format;
  options.template_name = template_name;
  options.max_seq_len = max_seq_len;
  options.train_on_prompt = train_on_prompt;
  return load_dataset(options, tokenizer);
}

}  // namespace

TEST_CASE("chatml supervises each assistant turn and its <|im_end|>", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  const fs::path path = write(dir, "chat.jsonl",
                              R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ok"}, )"
                              R"({"role": "user", "content": "Bye"}, {"role": "assistant", "content": " So long"}]})"
                              "\n\n");
  const TokenizedDataset data = load(path, RecordFormat::kChat, tokenizer);
  CHECK(data.template_used == "chatml");
  REQUIRE(data.samples.size() == 1);
  const Ids ids = cat({{kImStart}, bytes("user\nHi"), {kImEnd}, bytes("\n"), {kImStart}, bytes("assistant\nOk"), {kImEnd},
                       bytes("\n"), {kImStart}, bytes("user\nBye"), {kImEnd}, bytes("\n"), {kImStart},
                       bytes("assistant\n So long"), {kImEnd}, bytes("\n")});
  const Ids labels = cat({{M}, masked("user\nHi"), {M}, masked("\n"), {M}, masked("assistant\n"), bytes("Ok"), {kImEnd},
                          masked("\n"), {M}, masked("user\nBye"), {M}, masked("\n"), {M}, masked("assistant\n"),
                          bytes(" So long"), {kImEnd}, masked("\n")});
  CHECK(data.samples[0].input_ids == ids);
  CHECK(data.samples[0].labels == labels);
  CHECK(data.stats.records == 1);
  CHECK(data.stats.tokens == int64_t(ids.size()));
  CHECK(data.stats.supervised_tokens == 2 + 1 + 8 + 1);

  const TokenizedDataset all = load(path, RecordFormat::kChat, tokenizer, "chatml", 2048, /*train_on_prompt=*/true);
  CHECK(all.samples[0].labels == ids);
}

TEST_CASE("chatml inserts the template's default system prompt", "[data]") {
  llmft::test::TempDir dir;
  const std::string jinja = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                            "{{ '<|im_start|>system\nBe nice<|im_end|>\n' }}{% endif %}" + kChatml + "{% endfor %}";
  const auto tokenizer = byte_tokenizer(jinja);
  const fs::path path = write(dir, "chat.jsonl",
                              R"({"messages": [{"role": "user", "content": "A"}, {"role": "assistant", "content": "B"}]})"
                              "\n"
                              R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "A"}, {"role": "assistant", "content": "B"}]})");
  const TokenizedDataset data = load(path, RecordFormat::kChat, tokenizer);
  REQUIRE(data.samples.size() == 2);
  const Ids tail = cat({{kImStart}, bytes("user\nA"), {kImEnd}, bytes("\n"), {kImStart}, bytes("assistant\nB"), {kImEnd},
                        bytes("\n")});
  CHECK(data.samples[0].input_ids == cat({{kImStart}, bytes("system\nBe nice"), {kImEnd}, bytes("\n"), tail}));
  CHECK(data.samples[1].input_ids == cat({{kImStart}, bytes("system\nS"), {kImEnd}, bytes("\n"), tail}));
}

TEST_CASE("sharegpt records map human/gpt to user/assistant", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  const fs::path chat = write(dir, "chat.jsonl",
                              R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]})");
  const fs::path share = write(dir, "share.json",
                               R"([{"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}])");
  const auto a = load(chat, RecordFormat::kChat, tokenizer);
  const auto b = load(share, RecordFormat::kShareGpt, tokenizer);
  CHECK(a.samples[0].input_ids == b.samples[0].input_ids);
  CHECK(a.samples[0].labels == b.samples[0].labels);
}

TEST_CASE("alpaca prompt: output and EOS supervised", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(std::nullopt, /*add_bos=*/true);
  const fs::path path = write(dir, "alpaca.jsonl",
                              R"({"instruction": "Add.", "input": "1 2", "output": "3"})" "\n"
                              R"({"instruction": "Greet.", "output": "Hi"})" "\n");
  const TokenizedDataset data = load(path, RecordFormat::kAlpaca, tokenizer);
  CHECK(data.template_used == "alpaca");
  REQUIRE(data.samples.size() == 2);
  const std::string with_input =
      "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
      "response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:\n";
  CHECK(data.samples[0].input_ids == cat({{kEndOfText}, bytes(with_input), bytes("3"), {kImEnd}}));
  CHECK(data.samples[0].labels == cat({{M}, masked(with_input), bytes("3"), {kImEnd}}));
  const std::string without_input =
      "Below is an instruction that describes a task. Write a response that appropriately completes the request."
      "\n\n### Instruction:\nGreet.\n\n### Response:\n";
  CHECK(data.samples[1].input_ids == cat({{kEndOfText}, bytes(without_input), bytes("Hi"), {kImEnd}}));
}

TEST_CASE("alpaca records under chatml become a user and an assistant turn", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  const fs::path path = write(dir, "alpaca.jsonl", R"({"instruction": "Add.", "input": "1 2", "output": "3"})");
  const TokenizedDataset data = load(path, RecordFormat::kAlpaca, tokenizer, "chatml");
  CHECK(data.samples[0].input_ids == cat({{kImStart}, bytes("user\nAdd.\n\n1 2"), {kImEnd}, bytes("\n"), {kImStart},
                                          bytes("assistant\n3"), {kImEnd}, bytes("\n")}));
}

TEST_CASE("text records: everything supervised, EOS appended", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer();
  const fs::path path = write(dir, "text.jsonl", "{\"text\": \"abc\"}\n   \n{\"text\": \"de\"}\n");
  const TokenizedDataset data = load(path, RecordFormat::kText, tokenizer);
  CHECK(data.template_used == "none");
  REQUIRE(data.samples.size() == 2);
  CHECK(data.samples[0].input_ids == cat({bytes("abc"), {kImEnd}}));
  CHECK(data.samples[0].labels == data.samples[0].input_ids);
  CHECK(data.stats.supervised_tokens == 3 + 2);
}

TEST_CASE("truncation from the right, and examples left without targets are dropped", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  const fs::path path = write(dir, "chat.jsonl",
                              R"({"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "World"}]})"
                              "\n"
                              R"({"messages": [{"role": "user", "content": "A long question here"}, {"role": "assistant", "content": "B"}]})");
  // Record 1: "World" starts at token 24, so 26 tokens keep "Wo"; record 2 loses its whole answer.
  const TokenizedDataset data = load(path, RecordFormat::kChat, tokenizer, "auto", /*max_seq_len=*/26);
  CHECK(data.stats.records == 2);
  CHECK(data.stats.truncated == 2);
  CHECK(data.stats.dropped == 1);
  REQUIRE(data.samples.size() == 1);
  CHECK(data.samples[0].input_ids.size() == 26);
  CHECK(data.samples[0].supervised_tokens() == 2);  // "Wo"
}

TEST_CASE("dataset errors name file, line, column and field", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  using llmft::test::Contains;
  const std::string good = R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]})";

  const fs::path broken = write(dir, "broken.jsonl", good + "\n\n" + R"({"messages": [}, )" + "\n");
  CHECK_THROWS_WITH(load(broken, RecordFormat::kChat, tokenizer), Contains("broken.jsonl:3:15: malformed JSON"));

  const fs::path role = write(dir, "role.jsonl", good + "\n" + R"({"messages": [{"role": "bot", "content": "x"}]})");
  CHECK_THROWS_WITH(load(role, RecordFormat::kChat, tokenizer),
                    Contains("role.jsonl:2: field 'messages[0].role' has unknown role 'bot'"));

  const fs::path missing = write(dir, "missing.jsonl", R"({"messages": [{"role": "user"}]})");
  CHECK_THROWS_WITH(load(missing, RecordFormat::kChat, tokenizer),
                    Contains("missing.jsonl:1: field 'messages[0].content' is missing"));

  const fs::path alpaca = write(dir, "alpaca.json", "[\n  {\"instruction\": \"x\", \"output\": \"y\"},\n  {\"instruction\": 3}\n]");
  CHECK_THROWS_WITH(load(alpaca, RecordFormat::kAlpaca, tokenizer), Contains("alpaca.json:3: field 'instruction' must be a string"));

  const fs::path array = write(dir, "array.json", "[\n  " + good + ",\n  {\"messages\": [1 2]}\n]");
  CHECK_THROWS_WITH(load(array, RecordFormat::kChat, tokenizer), Contains("array.json:3:19: malformed JSON"));

  CHECK_THROWS_WITH(load(missing, RecordFormat::kChat, tokenizer, "vicuna"), Contains("template 'vicuna' is unknown"));
  CHECK_THROWS_WITH(load(missing, RecordFormat::kText, tokenizer, "chatml"), Contains("cannot render text records"));
  CHECK_THROWS_WITH(load(dir.path / "absent.jsonl", RecordFormat::kChat, tokenizer), Contains("absent.jsonl"));
  const auto plain = byte_tokenizer();
  CHECK_THROWS_WITH(load(missing, RecordFormat::kChat, plain), Contains("no chat template"));
}

TEST_CASE("JSON array and JSONL files give the same samples; sha256 of the bytes", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer();
  const fs::path jsonl = write(dir, "t.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b,]\\\"c\"}\n");
  const fs::path array = write(dir, "t.json", "\xEF\xBB\xBF [ {\"text\": \"a\"} ,\n{\"text\": \"b,]\\\"c\"} ]\n");
  const auto a = load(jsonl, RecordFormat::kText, tokenizer);
  const auto b = load(array, RecordFormat::kText, tokenizer);
  REQUIRE(a.samples.size() == 2);
  REQUIRE(b.samples.size() == 2);
  CHECK(a.samples[1].input_ids == b.samples[1].input_ids);
  CHECK(a.samples[1].input_ids == cat({bytes("b,]\"c"), {kImEnd}}));
  CHECK(a.content_sha256.size() == 64);
  CHECK(a.content_sha256 != b.content_sha256);
  const fs::path empty_array = write(dir, "e.json", "[]");
  CHECK_THROWS_WITH(load(empty_array, RecordFormat::kText, tokenizer), llmft::test::Contains("no records"));
}

TEST_CASE("split_for_eval is seeded and keeps file order", "[data]") {
  TokenizedDataset data;
  for (int i = 0; i < 20; ++i) data.samples.push_back({{i, i}, {i, i}});
  data.template_used = "none";
  const SplitDataset a = split_for_eval(data, 0.25, 3);
  const SplitDataset b = split_for_eval(data, 0.25, 3);
  REQUIRE(a.eval.samples.size() == 5);
  REQUIRE(a.train.samples.size() == 15);
  for (std::size_t i = 0; i < 5; ++i) CHECK(a.eval.samples[i].input_ids == b.eval.samples[i].input_ids);
  for (std::size_t i = 1; i < a.eval.samples.size(); ++i)
    CHECK(a.eval.samples[i - 1].input_ids[0] < a.eval.samples[i].input_ids[0]);
  CHECK(a.eval.stats.records == 5);
  CHECK(a.eval.stats.tokens == 10);
  CHECK(a.eval.template_used == "none");
  const SplitDataset tiny = split_for_eval(data, 0.001, 3);
  CHECK(tiny.eval.samples.size() == 1);
  CHECK(split_for_eval(data, 0.999, 3).train.samples.size() == 1);
  CHECK_THROWS_AS(split_for_eval(data, 1.0, 3), llmft::Error);
}
