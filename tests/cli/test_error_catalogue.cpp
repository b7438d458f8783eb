// The error catalogue (docs/errors.md) through the real binary: every documented mistake exits 2 with
// exactly one error line ("llmft: error: ..."), the last line on stderr, naming the file, key, line
// or tensor at fault. Commands that report progress before they fail (tokenizing, loading) may
// print those lines first; there is still only one error line and it comes last. Broken inputs are
// built by hand in a TempDir; the tiny fixtures stand in for real models so the file stays fast.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "lora/inject.h"
#include "lora/peft_adapter.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "model/tensor_table.h"
#include "tests/support/byte_builder.h"
#include "tests/support/catch.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_cli.h"

namespace fs = std::filesystem;
using llmft::test::Bytes;
using llmft::test::CliResult;
using llmft::test::Contains;
using llmft::test::run_llmft;
using llmft::test::TempDir;

namespace {

const fs::path kFixtures = fs::path(LLMFT_FIXTURE_DIR);
const fs::path kTinyChat = kFixtures / "tiny_chat";
constexpr const char* kErrorPrefix = "llmft: error: ";

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Whether the command may report progress (tokenizing, loading) on stderr before it fails.
enum class Progress { kNone, kAllowed };

// Runs llmft and checks the catalogue's contract: exit 2, one error line, last on stderr, starting
// with the error prefix and containing every needle. Returns the error line.
std::string expect_error(const std::vector<std::string>& args, const std::vector<std::string>& needles,
                         Progress progress = Progress::kNone) {
  const CliResult result = run_llmft(args);
  INFO(describe(result));
  CHECK(result.exit_code == 2);
  const auto lines = result.err_lines();
  REQUIRE_FALSE(lines.empty());
  if (progress == Progress::kNone) CHECK(lines.size() == 1);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) CHECK(lines[i].rfind("llmft: ", 0) != 0);
  const std::string& last = lines.back();
  CHECK(last.rfind(kErrorPrefix, 0) == 0);
  CHECK(last.size() > std::string(kErrorPrefix).size());
  for (const auto& needle : needles) CHECK_THAT(last, Contains(needle));
  return last;
}

// ---- recipes ---------------------------------------------------------------------------------

// A recipe that parses; its data file does not exist, so recipe mistakes are found before any
// file is opened and none of these cases needs a fixture.
fs::path minimal_recipe(const fs::path& dir) {
  const fs::path path = dir / "r.yaml";
  write_text(path, "data:\n  path: " + (dir / "absent.jsonl").string() + "\n");
  return path;
}

// ---- checkpoints -----------------------------------------------------------------------------

nlohmann::json tiny_config_json() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 32},
          {"hidden_size", 8},
          {"intermediate_size", 16},
          {"num_hidden_layers", 1},
          {"num_attention_heads", 2},
          {"num_key_value_heads", 1},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0},
          {"max_position_embeddings", 64},
          {"tie_word_embeddings", false},
          {"torch_dtype", "float32"}};
}

// A complete, valid tiny Llama checkpoint; `reshape` changes one tensor's shape, `int_tensor`
// stores one tensor as int32.
void write_tiny_checkpoint(const fs::path& dir, const std::string& reshape_name = "", std::vector<int64_t> new_shape = {},
                           const std::string& int_tensor = "") {
  fs::create_directories(dir);
  const nlohmann::json config_json = tiny_config_json();
  write_text(dir / "config.json", config_json.dump(2));
  const auto config = llmft::model::parse_hf_config(config_json, "config.json");
  std::vector<llmft::io::NamedTensor> tensors;
  for (const auto& expected : llmft::model::expected_tensors(config)) {
    if (expected.optional) continue;
    const auto shape = expected.name == reshape_name ? new_shape : expected.shape;
    auto tensor = torch::zeros(shape);
    if (expected.name == int_tensor) tensor = tensor.to(torch::kInt);
    tensors.push_back({expected.name, tensor});
  }
  llmft::io::write_safetensors(dir / "model.safetensors", tensors);
}

// A raw safetensors file: 8-byte little-endian header length, header, `data_bytes` zero bytes.
void write_raw_safetensors(const fs::path& path, const std::string& header, uint64_t data_bytes,
                           uint64_t claimed_header_length = 0) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = claimed_header_length ? claimed_header_length : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << std::string(data_bytes, '\0');
}

// ---- GGUF ------------------------------------------------------------------------------------

struct GgufOptions {
  std::string magic = "GGUF";
  std::string architecture = "llama";
  std::string tokenizer_model = "gpt2";
  uint32_t embedding_type = 0;  // ggml type of token_embd.weight; 20 is IQ4_NL, which llmft cannot dequantize
  uint32_t block_count = 1;     // what the header claims; the tensors are always one block's
};

// A complete tiny Llama GGUF (hidden 32, one layer, one head, four tokens, tied embeddings) with a
// gpt2 vocabulary, so `convert` gets as far as the weights.
std::string tiny_gguf(const GgufOptions& o = {}) {
  constexpr uint64_t kHidden = 32, kVocab = 4;
  const std::string a = o.architecture + ".";
  auto key = [](Bytes& b, const std::string& k, uint32_t type) -> Bytes& { return b.str(k).put<uint32_t>(type); };
  Bytes kv;
  key(kv, "general.architecture", 8).str(o.architecture);
  key(kv, a + "embedding_length", 4).put<uint32_t>(kHidden);
  key(kv, a + "feed_forward_length", 4).put<uint32_t>(kHidden);
  key(kv, a + "block_count", 4).put<uint32_t>(o.block_count);
  key(kv, a + "attention.head_count", 4).put<uint32_t>(1);
  key(kv, a + "attention.layer_norm_rms_epsilon", 6).put<float>(1e-5f);
  key(kv, "tokenizer.ggml.model", 8).str(o.tokenizer_model);
  key(kv, "tokenizer.ggml.tokens", 9).put<uint32_t>(8).put<uint64_t>(kVocab).str("a").str("b").str("c").str("d");
  key(kv, "tokenizer.ggml.merges", 9).put<uint32_t>(8).put<uint64_t>(0);
  constexpr uint64_t kKeys = 9;

  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;  // ggml order: innermost first
    uint32_t type;
    uint64_t bytes;
  };
  std::vector<Tensor> tensors;
  const bool iq4_nl = o.embedding_type == 20;  // blocks of 32 values in 18 bytes
  tensors.push_back({"token_embd.weight", {kHidden, kVocab}, o.embedding_type,
                     iq4_nl ? kVocab * 18 : kVocab * kHidden * 4});
  for (const char* n : {"attn_norm", "ffn_norm"}) tensors.push_back({std::string("blk.0.") + n + ".weight", {kHidden}, 0, kHidden * 4});
  for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
    tensors.push_back({std::string("blk.0.") + n + ".weight", {kHidden, kHidden}, 0, kHidden * kHidden * 4});
  tensors.push_back({"output_norm.weight", {kHidden}, 0, kHidden * 4});

  Bytes b;
  b.data = o.magic;
  b.put<uint32_t>(3).put<uint64_t>(tensors.size()).put<uint64_t>(kKeys);
  b.data += kv.data;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    b.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) b.put<uint64_t>(d);
    b.put<uint32_t>(t.type).put<uint64_t>(offset);
    offset += (t.bytes + 31) / 32 * 32;
  }
  b.data.resize((b.data.size() + 31) / 32 * 32, '\0');
  b.data.append(offset, '\0');
  return b.data;
}

fs::path write_gguf(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// ---- data ------------------------------------------------------------------------------------

// A recipe over the tiny_chat fixture for `data inspect` and `train` (one step of two examples).
fs::path fixture_recipe(const fs::path& dir) {
  const fs::path path = dir / "recipe.yaml";
  write_text(path, "model:\n  path: " + kTinyChat.string() + "\n  dtype: fp32\n  device: cpu\n" +
                       "lora:\n  rank: 4\n  target_modules: [q_proj, v_proj]\n" + "data:\n  path: " +
                       (kTinyChat / "train.jsonl").string() + "\n  max_seq_len: 64\n" +
                       "train:\n  batch_size: 2\n  grad_accum_steps: 1\n  max_steps: 1\n" +
                       "output:\n  dir: " + (dir / "run").string() + "\n");
  return path;
}

const std::string kUser = R"({"role": "user", "content": "Hi"})";
const std::string kAssistant = R"({"role": "assistant", "content": "Hello."})";
std::string chat(const std::string& turns) { return "{\"messages\": [" + turns + "]}\n"; }

// ---- adapters --------------------------------------------------------------------------------

// A PEFT adapter (rank 4) for the model at `base`, written by llmft's own saver.
void make_adapter(const fs::path& base, const fs::path& dir, std::vector<std::string> targets) {
  auto loaded = llmft::model::load_pretrained(base, torch::kFloat, torch::kCPU);
  llmft::lora::LoraOptions options;
  options.rank = 4;
  options.alpha = 8;
  options.target_modules = std::move(targets);
  llmft::lora::inject_lora(*loaded.model, options);
  llmft::lora::save_peft_adapter(dir, *loaded.model, options, base.string());
}

void edit_json(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(llmft::test::read_file_bytes(path));
  edit(j);
  write_text(path, j.dump(2));
}

}  // namespace

TEST_CASE("bad input: a valid tiny checkpoint inspects cleanly (control)", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  write_tiny_checkpoint(dir.path / "ok");
  const auto result = run_llmft({"inspect", dir.path.string() + "/ok"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.err.empty());
  REQUIRE_THAT(result.out, Contains("LlamaForCausalLM"));
  REQUIRE_THAT(result.out, Contains("model.layers.0.self_attn.q_proj.weight"));
  REQUIRE_THAT(result.out, Contains("consistency: OK"));
}

TEST_CASE("errors: recipe mistakes", "[cli][errors]") {
  TempDir dir("llmft-errors-recipe");
  const fs::path r = minimal_recipe(dir.path);
  const std::string recipe = r.string();
  auto file = [&](const std::string& name, const std::string& text) {
    write_text(dir.path / name, text);
    return (dir.path / name).string();
  };

  SECTION("missing recipe file") { expect_error({"train", (dir.path / "nope.yaml").string()}, {"nope.yaml", "cannot open"}); }
  SECTION("YAML syntax error: file, line and column") {
    expect_error({"train", file("syntax.yaml", "model:\n  path: [x\n")}, {"syntax.yaml:3:", "invalid YAML"});
  }
  SECTION("unknown key in the file, with the closest valid key") {
    expect_error({"train", file("unknown.yaml", "data:\n  path: a.jsonl\n  formt: chat\n")},
                 {"unknown.yaml:3:3", "unknown key 'data.formt'", "did you mean 'data.format'"});
  }
  SECTION("unknown key in an override") {
    expect_error({"train", recipe, "lora.rnak=8"}, {"override 'lora.rnak=8'", "did you mean 'lora.rank'"});
  }
  SECTION("a key written twice") {
    expect_error({"train", file("dup.yaml", "data:\n  path: a.jsonl\n  path: b.jsonl\n")},
                 {"dup.yaml:3:3", "duplicate key 'data.path'", "dup.yaml:2:3"});
  }
  SECTION("wrong type in the file") {
    expect_error({"train", file("type.yaml", "data:\n  path: a.jsonl\ntrain:\n  lr: abc\n")},
                 {"type.yaml:4:3", "train.lr: expected a number, got 'abc'"});
  }
  SECTION("wrong type in an override (a float where an integer is expected)") {
    expect_error({"train", recipe, "lora.rank=8.0"}, {"override 'lora.rank=8.0'", "lora.rank: expected an integer"});
  }
  SECTION("value out of range") {
    expect_error({"train", recipe, "lora.dropout=1.5"}, {"lora.dropout must be in [0, 1)", "1.5"});
  }
  SECTION("value not positive") {
    expect_error({"train", recipe, "train.batch_size=0"}, {"train.batch_size must be > 0"});
  }
  SECTION("enumeration value not allowed") {
    expect_error({"train", recipe, "model.dtype=bf32"}, {"model.dtype: invalid value 'bf32'", "allowed: bf16, fp16, fp32"});
  }
  SECTION("conflicting keys in the file") {
    expect_error({"train", file("conflict.yaml", "data:\n  path: a.jsonl\ntrain:\n  max_steps: 3\n  epochs: 2\n")},
                 {"conflict.yaml:4:3", "train.max_steps and train.epochs (line 5) are mutually exclusive"});
  }
  SECTION("conflicting keys in the overrides") {
    expect_error({"train", recipe, "data.eval_split=0.1", "data.eval_path=b.jsonl"},
                 {"data.eval_split and data.eval_path", "mutually exclusive"});
  }
  SECTION("override without '='") {
    expect_error({"train", recipe, "train.lr"}, {"override 'train.lr'", "expected key=value"});
  }
  SECTION("override with an empty key") { expect_error({"train", recipe, "=3"}, {"override '=3'", "expected key=value"}); }
}

TEST_CASE("errors: checkpoint mistakes", "[cli][errors]") {
  TempDir dir("llmft-errors-ckpt");
  const fs::path model = dir.path / "m";

  SECTION("model path that does not exist") {
    expect_error({"inspect", "/nonexistent/llmft-model"}, {"/nonexistent/llmft-model", "no such file or directory"});
  }
  SECTION("file shorter than the header length") {
    write_text(dir.path / "short.safetensors", std::string("\x05\x00", 2));
    expect_error({"inspect", (dir.path / "short.safetensors").string()}, {"short.safetensors", "8-byte header length"});
  }
  SECTION("header length beyond the file") {
    const fs::path f = dir.path / "x.safetensors";
    write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 1'000'000);
    expect_error({"inspect", f.string()}, {"x.safetensors", "header"});
  }
  SECTION("malformed header JSON") {
    const fs::path f = dir.path / "garbled.safetensors";
    write_raw_safetensors(f, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4])", 4);
    expect_error({"inspect", f.string()}, {"garbled.safetensors", "header is not valid JSON"});
  }
  SECTION("header that is not a JSON object") {
    const fs::path f = dir.path / "array.safetensors";
    write_raw_safetensors(f, "[1, 2, 3]", 0);
    expect_error({"inspect", f.string()}, {"array.safetensors", "header must be a JSON object"});
  }
  SECTION("unsupported dtype") {
    const fs::path f = dir.path / "fp8.safetensors";
    write_raw_safetensors(f, R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4);
    expect_error({"inspect", f.string()}, {"fp8.safetensors", "tensor 'w'", "unsupported dtype 'F8_E4M3'"});
  }
  SECTION("dtype x shape disagrees with the byte length") {
    const fs::path f = dir.path / "x.safetensors";
    write_raw_safetensors(f, R"({"weird.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
    expect_error({"inspect", f.string()}, {"x.safetensors", "weird.weight"});
  }
  SECTION("overlapping tensor offsets") {
    const fs::path f = dir.path / "x.safetensors";
    write_raw_safetensors(f,
                          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12);
    expect_error({"inspect", f.string()}, {"x.safetensors", "overlap"});
  }
  SECTION("duplicate tensor name") {
    const fs::path f = dir.path / "dup.safetensors";
    write_raw_safetensors(f,
                          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          8);
    expect_error({"inspect", f.string()}, {"dup.safetensors", "tensor 'a'", "more than once"});
  }
  SECTION("truncated safetensors in a model directory") {
    write_tiny_checkpoint(model);
    fs::resize_file(model / "model.safetensors", fs::file_size(model / "model.safetensors") - 100);
    expect_error({"inspect", model.string()}, {"model.safetensors"});
  }
  SECTION("a tensor of the wrong shape") {
    write_tiny_checkpoint(model, "model.layers.0.mlp.up_proj.weight", {16, 4});
    expect_error({"inspect", model.string()}, {"model.layers.0.mlp.up_proj.weight", "[16, 4]", "[16, 8]"});
  }
  SECTION("a weight stored as integers") {
    write_tiny_checkpoint(model, "", {}, "model.norm.weight");
    expect_error({"inspect", model.string()}, {"model.safetensors", "model.norm.weight", "dtype I32"});
  }
  SECTION("index naming a missing shard") {
    write_tiny_checkpoint(model);
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    index["weight_map"]["model.embed_tokens.weight"] = "model-00001-of-00002.safetensors";
    fs::remove(model / "model.safetensors");
    write_text(model / "model.safetensors.index.json", index.dump());
    expect_error({"inspect", model.string()}, {"model-00001-of-00002.safetensors"});
  }
  SECTION("index with a shard path escaping the model directory") {
    write_tiny_checkpoint(model);
    fs::rename(model / "model.safetensors", dir.path / "outside.safetensors");
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    index["weight_map"]["model.embed_tokens.weight"] = "../outside.safetensors";
    write_text(model / "model.safetensors.index.json", index.dump());
    expect_error({"inspect", model.string()}, {"model.safetensors.index.json", "../outside.safetensors"});
  }
  SECTION("config.json missing a required field") {
    write_tiny_checkpoint(model);
    nlohmann::json config = tiny_config_json();
    config.erase("num_hidden_layers");
    write_text(model / "config.json", config.dump());
    expect_error({"inspect", model.string()}, {"config.json", "num_hidden_layers"});
  }
  SECTION("config.json with an unknown architecture") {
    write_tiny_checkpoint(model);
    nlohmann::json config = tiny_config_json();
    config["architectures"] = {"GPTNeoXForCausalLM"};
    write_text(model / "config.json", config.dump());
    expect_error({"inspect", model.string()}, {"config.json", "GPTNeoXForCausalLM"});
  }
  SECTION("malformed config.json") {
    write_tiny_checkpoint(model);
    write_text(model / "config.json", "{\"hidden_size\": 8,");
    expect_error({"inspect", model.string()}, {"config.json"});
  }
}

TEST_CASE("errors: GGUF mistakes", "[cli][errors][gguf]") {
  TempDir dir("llmft-errors-gguf");
  const std::string out = (dir.path / "out").string();

  SECTION("the tiny GGUF itself converts (control)") {
    const fs::path f = write_gguf(dir.path / "ok.gguf", tiny_gguf());
    const CliResult result = run_llmft({"convert", f.string(), "--out", out});
    INFO(describe(result));
    CHECK(result.exit_code == 0);
  }
  SECTION("bad magic") {
    GgufOptions o;
    o.magic = "GGML";
    const fs::path f = write_gguf(dir.path / "magic.gguf", tiny_gguf(o));
    expect_error({"inspect", f.string()}, {"magic.gguf", "not a GGUF file", "'GGML'"});
  }
  SECTION("truncated inside the metadata") {
    const fs::path f = write_gguf(dir.path / "cut.gguf", tiny_gguf().substr(0, 300));
    expect_error({"inspect", f.string()}, {"cut.gguf", "metadata key #", "left in the file"});
  }
  SECTION("truncated inside the tensor data") {
    const std::string bytes = tiny_gguf();
    const fs::path f = write_gguf(dir.path / "cutdata.gguf", bytes.substr(0, bytes.size() - 1000));
    expect_error({"inspect", f.string()}, {"cutdata.gguf", "tensor 'blk.0.ffn_down.weight'", "outside the data section"});
  }
  SECTION("quantization type llmft cannot dequantize") {
    GgufOptions o;
    o.embedding_type = 20;
    const fs::path f = write_gguf(dir.path / "iq4.gguf", tiny_gguf(o));
    expect_error({"convert", f.string(), "--out", out}, {"iq4.gguf", "tensor 'token_embd.weight'", "IQ4_NL"});
  }
  SECTION("implausible block count") {
    GgufOptions o;
    o.block_count = 400000000;
    const fs::path f = write_gguf(dir.path / "deep.gguf", tiny_gguf(o));
    expect_error({"convert", f.string(), "--out", out}, {"deep.gguf", "llama.block_count", "[1, 4096]"});
  }
  SECTION("unknown architecture") {
    GgufOptions o;
    o.architecture = "gptneox";
    const fs::path f = write_gguf(dir.path / "neox.gguf", tiny_gguf(o));
    expect_error({"convert", f.string(), "--out", out}, {"neox.gguf", "general.architecture 'gptneox'"});
  }
  SECTION("convert of a vocabulary that is not byte-level BPE") {
    GgufOptions o;
    o.tokenizer_model = "bert";
    const fs::path f = write_gguf(dir.path / "bert.gguf", tiny_gguf(o));
    expect_error({"convert", f.string(), "--out", out}, {"bert.gguf", "tokenizer.ggml.model", "'bert'"});
  }
  SECTION("convert of a file that is not a .gguf") {
    write_tiny_checkpoint(dir.path / "m");
    expect_error({"convert", (dir.path / "m").string(), "--out", out}, {"expects a .gguf file"});
  }
  SECTION("convert into a non-empty output directory") {
    const fs::path f = write_gguf(dir.path / "ok.gguf", tiny_gguf());
    write_text(dir.path / "out" / "notes.txt", "mine");
    expect_error({"convert", f.string(), "--out", out}, {out, "not empty", "--force"});
  }
  SECTION("convert with an unknown --dtype") {
    const fs::path f = write_gguf(dir.path / "ok.gguf", tiny_gguf());
    expect_error({"convert", f.string(), "--out", out, "--dtype", "int3"}, {"--dtype", "int3"});
  }
}

TEST_CASE("errors: tokenizer mistakes", "[cli][errors][fixtures]") {
  TempDir dir("llmft-errors-tok");
  const std::string recipe = fixture_recipe(dir.path).string();
  const fs::path model = dir.path / "model";
  fs::copy(kTinyChat, model, fs::copy_options::recursive);

  SECTION("no tokenizer beside the weights") {
    fs::remove(model / "tokenizer.json");
    expect_error({"data", "inspect", recipe, "model.path=" + model.string()}, {model.string(), "no tokenizer.json"});
  }
  SECTION("malformed tokenizer.json") {
    write_text(model / "tokenizer.json", llmft::test::read_file_bytes(kTinyChat / "tokenizer.json").substr(0, 500));
    expect_error({"data", "inspect", recipe, "model.path=" + model.string()}, {"tokenizer.json", "malformed JSON"});
  }
  SECTION("tokenizer model type llmft does not read") {
    edit_json(model / "tokenizer.json", [](nlohmann::json& j) { j["model"]["type"] = "WordPiece"; });
    expect_error({"data", "inspect", recipe, "model.path=" + model.string()},
                 {"tokenizer.json", "model.type WordPiece is not supported"});
  }
  SECTION("GGUF tokenizer kind llmft does not read") {
    GgufOptions o;
    o.tokenizer_model = "bert";
    const fs::path f = write_gguf(dir.path / "bert.gguf", tiny_gguf(o));
    expect_error({"data", "inspect", recipe, "model.path=" + f.string()},
                 {"bert.gguf", "tokenizer.ggml.model", "'bert'"});
  }
}

TEST_CASE("errors: dataset mistakes", "[cli][errors][fixtures]") {
  TempDir dir("llmft-errors-data");
  const std::string recipe = fixture_recipe(dir.path).string();
  const fs::path data = dir.path / "data.jsonl";
  const std::vector<std::string> inspect = {"data", "inspect", recipe, "data.path=" + data.string()};

  SECTION("missing data file") {
    expect_error({"train", recipe, "data.path=" + (dir.path / "absent.jsonl").string()},
                 {"data.path", "absent.jsonl", "no such file"});
  }
  SECTION("missing evaluation file") {
    expect_error({"data", "inspect", recipe, "data.eval_path=" + (dir.path / "absent.jsonl").string()},
                 {"data.eval_path", "absent.jsonl", "no such file"}, Progress::kAllowed);
  }
  SECTION("malformed JSON: file, line and column") {
    write_text(data, chat(kUser + ", " + kAssistant) + "{\"messages\": [" + kUser + ",\n");
    expect_error(inspect, {"data.jsonl:2:", "malformed JSON"}, Progress::kAllowed);
  }
  SECTION("missing field") {
    write_text(data, chat(kUser + ", " + kAssistant) + "{\"msgs\": []}\n");
    expect_error(inspect, {"data.jsonl:2:", "field 'messages' is missing"}, Progress::kAllowed);
  }
  SECTION("missing field in an alpaca record") {
    write_text(data, "{\"instruction\": \"Say hi\"}\n");
    expect_error({"data", "inspect", recipe, "data.path=" + data.string(), "data.format=alpaca"},
                 {"data.jsonl:1:", "'output'"}, Progress::kAllowed);
  }
  SECTION("wrongly ordered conversation") {
    write_text(data, chat(kUser + ", " + kAssistant + ", " + kAssistant));
    expect_error(inspect, {"data.jsonl:1:", "messages[2].role", "where a 'user' turn is expected"}, Progress::kAllowed);
  }
  SECTION("conversation that ends on a user turn") {
    write_text(data, chat(kUser + ", " + kUser));
    expect_error(inspect, {"data.jsonl:1:", "messages[1].role", "where an 'assistant' turn is expected"},
                 Progress::kAllowed);
  }
  SECTION("unknown role") {
    write_text(data, chat(kUser + R"(, {"role": "bot", "content": "x"})"));
    expect_error(inspect, {"data.jsonl:1:", "messages[1].role", "unknown role 'bot'"}, Progress::kAllowed);
  }
  SECTION("empty conversation") {
    write_text(data, chat(""));
    expect_error(inspect, {"data.jsonl:1:", "field 'messages' is empty"}, Progress::kAllowed);
  }
  SECTION("empty dataset") {
    write_text(data, "\n\n");
    expect_error(inspect, {"data.jsonl", "no records"}, Progress::kAllowed);
  }
  SECTION("no supervised tokens left after truncation") {
    std::string long_prompt;
    for (int i = 0; i < 200; ++i) long_prompt += "word ";
    write_text(data, chat(R"({"role": "user", "content": ")" + long_prompt + "\"}, " + kAssistant));
    expect_error({"train", recipe, "data.path=" + data.string(), "--dry-run"},
                 {"data.path", "data.jsonl", "no example is left to train on", "1 dropped"}, Progress::kAllowed);
  }
}

TEST_CASE("errors: adapter and merge mistakes", "[cli][errors][fixtures]") {
  TempDir dir("llmft-errors-adapter");
  const fs::path adapter = dir.path / "adapter";
  make_adapter(kTinyChat, adapter, {"q_proj", "v_proj"});
  const std::string out = (dir.path / "merged").string();
  auto merge = [&](const fs::path& a) {
    return std::vector<std::string>{"merge", "--base", kTinyChat.string(), "--adapter", a.string(), "--out", out};
  };

  SECTION("--adapter is not a directory") {
    expect_error(merge(dir.path / "absent"), {"absent", "--adapter must be a PEFT adapter directory"});
  }
  SECTION("adapter_config.json missing") {
    fs::remove(adapter / "adapter_config.json");
    expect_error(merge(adapter), {"adapter_config.json", "cannot open"});
  }
  SECTION("rank in adapter_config.json disagrees with the tensors") {
    edit_json(adapter / "adapter_config.json", [](nlohmann::json& j) { j["r"] = 8; });
    expect_error(merge(adapter), {"adapter_model.safetensors", ".lora_A.weight", "[4, 64]", "[8, 64]"});
  }
  SECTION("target module absent from the base") {
    edit_json(adapter / "adapter_config.json", [](nlohmann::json& j) { j["target_modules"] = {"nope_proj"}; });
    expect_error(merge(adapter), {"adapter_config.json", "'nope_proj'", "matches no Linear of the base"});
  }
  SECTION("adapter tensor for a layer the base does not have") {
    auto file = llmft::io::SafetensorsFile::open(adapter / "adapter_model.safetensors");
    std::vector<llmft::io::NamedTensor> tensors;
    for (const auto& info : file.tensors()) tensors.push_back({info.name, file.tensor(info.name).clone()});
    tensors.push_back({"base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", torch::zeros({4, 64})});
    llmft::io::write_safetensors(dir.path / "extra.safetensors", tensors);
    fs::rename(dir.path / "extra.safetensors", adapter / "adapter_model.safetensors");
    expect_error({"generate", "--model", kTinyChat.string(), "--adapter", adapter.string(), "--prompt", "hi"},
                 {"adapter_model.safetensors", "layers.7.self_attn.q_proj.lora_A.weight", "matches no LoRA module"});
  }
  SECTION("adapter made for another base (shapes differ)") {
    const fs::path other = dir.path / "gqa_adapter";
    make_adapter(kFixtures / "llama_gqa", other, {"all-linear"});
    expect_error({"merge", "--base", kTinyChat.string(), "--adapter", other.string(), "--out", out},
                 {"adapter_model.safetensors", ".lora_", "has shape", "another model"});
  }
  SECTION("merge with an unknown --dtype") {
    expect_error({"merge", "--base", kTinyChat.string(), "--adapter", adapter.string(), "--out", out, "--dtype", "int4"},
                 {"--dtype", "'int4'"});
  }
}

TEST_CASE("errors: eval and generate flags", "[cli][errors][fixtures]") {
  const std::string model = kTinyChat.string();
  const std::string data = (kTinyChat / "eval.jsonl").string();

  SECTION("unknown flag") {
    expect_error({"eval", "--model", model, "--data", data, "--bogus"}, {"--bogus", "--help"});
  }
  SECTION("missing required option") { expect_error({"eval", "--model", model}, {"--data", "required"}); }
  SECTION("option value of the wrong type") {
    expect_error({"generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "many"}, {"--max-new-tokens", "many"});
  }
  SECTION("eval --batch-size 0") {
    expect_error({"eval", "--model", model, "--data", data, "--batch-size", "0"}, {"--batch-size", "at least 1"});
  }
  SECTION("generate --max-new-tokens below 0") {
    expect_error({"generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "-1"}, {"--max-new-tokens", ">= 0"});
  }
  SECTION("generate --top-k below 0") {
    expect_error({"generate", "--model", model, "--prompt", "hi", "--top-k", "-3"}, {"--top-k", "-3"});
  }
}

TEST_CASE("errors: training runtime mistakes", "[cli][errors][fixtures]") {
  TempDir dir("llmft-errors-runtime");
  const std::string recipe = fixture_recipe(dir.path).string();
  const CliResult first = run_llmft({"train", recipe});
  INFO(describe(first));
  REQUIRE(first.exit_code == 0);
  const std::string run = (dir.path / "run").string();

  // A fresh run into an output directory that holds a run.
  expect_error({"train", recipe}, {"output.dir", run, "already holds a run", "--resume"}, Progress::kAllowed);
  // Resuming with a different recipe.
  expect_error({"train", recipe, "train.max_steps=2", "train.lr=1e-3", "--resume"},
               {"--resume", run, "different recipe", "train.lr"}, Progress::kAllowed);
}
