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

namespace {

DatasetOptions chat_options(const fs::path& path, int64_t max_seq_len = 2048) {
  DatasetOptions options;
  options.path = path;
  options.format = RecordFormat::kChat;
  options.max_seq_len = max_seq_len;
  return options;
}

std::string chat_line(const std::string& question, const std::string& answer) {
  return R"({"messages": [{"role": "user", "content": ")" + question + R"("}, {"role": "assistant", "content": ")" +
         answer + "\"}]}\n";
}

}  // namespace

TEST_CASE("conversations must alternate user/assistant after an optional system message", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  using llmft::test::Contains;
  auto load_one = [&](const std::string& messages) {
    return load(write(dir, "c.jsonl", R"({"messages": )" + messages + "}\n"), RecordFormat::kChat, tokenizer);
  };
  const std::string user = R"({"role": "user", "content": "q"})";
  const std::string assistant = R"({"role": "assistant", "content": "a"})";
  const std::string system = R"({"role": "system", "content": "s"})";
  CHECK(load_one("[" + system + ", " + user + ", " + assistant + "]").samples.size() == 1);
  CHECK_THROWS_WITH(load_one("[" + assistant + ", " + user + "]"),
                    Contains("c.jsonl:1: field 'messages[0].role' is 'assistant' where a 'user' turn is expected"));
  CHECK_THROWS_WITH(load_one("[" + user + ", " + user + ", " + assistant + "]"),
                    Contains("field 'messages[1].role' is 'user' where an 'assistant' turn is expected"));
  CHECK_THROWS_WITH(load_one("[" + user + ", " + assistant + ", " + system + "]"),
                    Contains("field 'messages[2].role' is a system message after the first message"));
  CHECK_THROWS_WITH(load_one("[" + user + ", " + assistant + ", " + user + "]"),
                    Contains("field 'messages[2].role' is the last turn but not 'assistant'"));
  CHECK_THROWS_WITH(load_one("[" + system + "]"), Contains("field 'messages' has a system message but no user turn"));
  CHECK_THROWS_WITH(load_one("[]"), Contains("field 'messages' is empty"));
}

TEST_CASE("on_error skip counts bad records and names the first ones; fail names the first bad line", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  const fs::path path = write(dir, "mixed.jsonl",
                              chat_line("q1", "a1") + "{not json\n" + chat_line("q2", "a2") +
                                  R"({"messages": [{"role": "bot", "content": "x"}]})" "\n" + chat_line("q3", "a3"));
  DatasetOptions options = chat_options(path);
  CHECK_THROWS_WITH(load_dataset(options, tokenizer), llmft::test::Contains("mixed.jsonl:2:3: malformed JSON"));
  options.skip_bad_records = true;
  const TokenizedDataset data = load_dataset(options, tokenizer);
  CHECK(data.stats.records == 5);
  CHECK(data.stats.skipped == 2);
  CHECK(data.samples.size() == 3);
  REQUIRE(data.stats.skip_examples.size() == 2);
  CHECK_THAT(data.stats.skip_examples[0], llmft::test::Contains("mixed.jsonl:2:3: malformed JSON"));
  CHECK_THAT(data.stats.skip_examples[1], llmft::test::Contains("mixed.jsonl:4: field 'messages[0].role'"));
}

TEST_CASE("truncation left keeps the answer, drop leaves long examples out", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml, /*add_bos=*/false);
  const fs::path path = write(dir, "c.jsonl", chat_line("A long question here", "Answer") + chat_line("Q", "B"));
  DatasetOptions options = chat_options(path, 24);  // the first is 47 tokens, the second 23
  options.truncation = TruncationSide::kLeft;
  const TokenizedDataset left = load_dataset(options, tokenizer);
  REQUIRE(left.samples.size() == 2);
  CHECK(left.stats.truncated == 1);
  // The last 24 tokens: "...\n<|im_start|>assistant\nAnswer<|im_end|>\n" ends the first sample.
  const Ids tail = cat({bytes("Answer"), {kImEnd}, bytes("\n")});
  const Ids& ids = left.samples[0].input_ids;
  REQUIRE(ids.size() == 24);
  CHECK(Ids(ids.end() - 8, ids.end()) == tail);
  CHECK(left.samples[0].supervised_tokens() == 7);  // "Answer" + <|im_end|>

  options.truncation = TruncationSide::kDrop;
  const TokenizedDataset dropped = load_dataset(options, tokenizer);
  CHECK(dropped.samples.size() == 1);
  CHECK(dropped.stats.truncated == 1);
  CHECK(dropped.stats.dropped == 1);
}

TEST_CASE("left truncation keeps a leading BOS", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(std::nullopt, /*add_bos=*/true);
  const fs::path path = write(dir, "t.jsonl", "{\"text\": \"abcdefghij\"}\n");
  DatasetOptions options;
  options.path = path;
  options.format = RecordFormat::kText;
  options.max_seq_len = 5;
  options.truncation = TruncationSide::kLeft;
  const TokenizedDataset data = load_dataset(options, tokenizer);
  REQUIRE(data.samples.size() == 1);
  CHECK(data.samples[0].input_ids == cat({{kEndOfText}, bytes("hij"), {kImEnd}}));
  CHECK(data.samples[0].labels.front() == M);
}

TEST_CASE("many threads tokenize exactly as one does", "[data]") {
  llmft::test::TempDir dir;
  const auto tokenizer = byte_tokenizer(kChatml);
  std::string lines;
  for (int i = 0; i < 700; ++i) {
    lines += i == 333 ? std::string("{broken\n") : chat_line("question " + std::to_string(i), std::string(i % 37, 'x') + "y");
  }
  DatasetOptions options = chat_options(write(dir, "many.jsonl", lines), 40);
  options.skip_bad_records = true;
  options.threads = 1;
  const TokenizedDataset one = load_dataset(options, tokenizer);
  options.threads = 4;
  const TokenizedDataset four = load_dataset(options, tokenizer);
  REQUIRE(one.samples.size() == 699);
  REQUIRE(four.samples.size() == one.samples.size());
  for (std::size_t i = 0; i < one.samples.size(); ++i) {
    REQUIRE(one.samples[i].input_ids == four.samples[i].input_ids);
    REQUIRE(one.samples[i].labels == four.samples[i].labels);
  }
  CHECK(four.stats.truncated == one.stats.truncated);
  CHECK(four.stats.truncated > 0);
  CHECK(four.stats.skip_examples == one.stats.skip_examples);
  options.skip_bad_records = false;
  CHECK_THROWS_WITH(load_dataset(options, tokenizer), llmft::test::Contains("many.jsonl:334:2: malformed JSON"));
}

TEST_CASE("loading lints the examples: doubled BOS and assistant turns truncated away are reported", "[data]") {
  llmft::test::TempDir dir;
  using llmft::test::Contains;
  // The tokenizer adds BOS and the text writes it again.
  const auto with_bos = byte_tokenizer(std::nullopt, /*add_bos=*/true);
  DatasetOptions text;
  text.path = write(dir, "t.jsonl", "{\"text\": \"<|endoftext|>hello\"}\n{\"text\": \"fine\"}\n");
  text.format = RecordFormat::kText;
  const TokenizedDataset doubled = load_dataset(text, with_bos);
  REQUIRE(doubled.warnings.size() == 1);
  CHECK_THAT(doubled.warnings[0], Contains("t.jsonl: two BOS tokens at the start: 1 example"));
  CHECK_THAT(doubled.warnings[0], Contains("t.jsonl:1"));

  // The second answer lies beyond max_seq_len: trained on the first turn only, and reported.
  const auto tokenizer = byte_tokenizer(kChatml);
  const std::string two_turns =
      R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}, )"
      R"({"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A long second answer"}]})" "\n";
  const TokenizedDataset cut = load_dataset(chat_options(write(dir, "c.jsonl", chat_line("q", "a") + two_turns), 30), tokenizer);
  CHECK(cut.samples.size() == 2);
  REQUIRE(cut.warnings.size() == 1);
  CHECK_THAT(cut.warnings[0], Contains("assistant turns cut away entirely by truncation"));
  CHECK_THAT(cut.warnings[0], Contains("c.jsonl:2"));
  // Nothing to report on clean data.
  CHECK(load_dataset(chat_options(write(dir, "ok.jsonl", chat_line("q", "a")), 64), tokenizer).warnings.empty());
}
