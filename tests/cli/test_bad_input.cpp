// Bad input through the real binary: each malformed checkpoint must give exactly one clear error
// line naming the file and the tensor or key at fault, exit code 2, and no crash or sanitizer
// report (any report would add lines to stderr and fail the one-line check).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/model_locator.h"
#include "io/safetensors.h"
#include "model/hf_config.h"
#include "model/tensor_table.h"
#include "tests/support/catch.h"
#include "tests/support/run_cli.h"

namespace fs = std::filesystem;
using llmft::test::run_llmft;
using llmft::test::TempDir;
using llmft::test::Contains;

namespace {

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

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A complete, valid tiny Llama checkpoint; `reshape` lets a test change one tensor's shape.
void write_tiny_checkpoint(const fs::path& dir, const std::string& reshape_name = "",
                           std::vector<int64_t> new_shape = {}) {
  fs::create_directories(dir);
  const nlohmann::json config_json = tiny_config_json();
  write_text(dir / "config.json", config_json.dump(2));
  const auto config = llmft::model::parse_hf_config(config_json, "config.json");
  std::vector<llmft::io::NamedTensor> tensors;
  for (const auto& expected : llmft::model::expected_tensors(config)) {
    if (expected.optional) continue;
    auto shape = expected.name == reshape_name ? new_shape : expected.shape;
    tensors.push_back({expected.name, torch::zeros(shape)});
  }
  llmft::io::write_safetensors(dir / "model.safetensors", tensors);
}

// A raw safetensors file: 8-byte little-endian header length, header, `data_bytes` zero bytes.
void write_raw_safetensors(const fs::path& path, const std::string& header, uint64_t data_bytes,
                           uint64_t claimed_header_length = 0) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = claimed_header_length ? claimed_header_length : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << std::string(data_bytes, '\0');
}

void require_one_line_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) {
  const auto result = run_llmft(args);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 2);
  const auto lines = result.err_lines();
  REQUIRE(lines.size() == 1);
  REQUIRE_THAT(lines[0], Contains("error"));
  for (const auto& needle : needles) REQUIRE_THAT(lines[0], Contains(needle));
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

TEST_CASE("bad input: truncated safetensors", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  const fs::path file = model / "model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  require_one_line_error({"inspect", model.string()}, {"model.safetensors"});
}

TEST_CASE("bad input: header length beyond the file", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path file = dir.path / "x.safetensors";
  write_raw_safetensors(file, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 1'000'000);
  require_one_line_error({"inspect", file.string()}, {"x.safetensors", "header"});
}

TEST_CASE("bad input: overlapping tensor offsets", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path file = dir.path / "x.safetensors";
  write_raw_safetensors(file,
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12);
  require_one_line_error({"inspect", file.string()}, {"x.safetensors", "overlap"});
}

TEST_CASE("bad input: dtype x shape disagrees with byte length", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path file = dir.path / "x.safetensors";
  write_raw_safetensors(file, R"({"weird.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  require_one_line_error({"inspect", file.string()}, {"x.safetensors", "weird.weight"});
}

TEST_CASE("bad input: index names a missing shard", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  index["weight_map"]["model.embed_tokens.weight"] = "model-00001-of-00002.safetensors";
  fs::remove(model / "model.safetensors");
  write_text(model / "model.safetensors.index.json", index.dump());
  require_one_line_error({"inspect", model.string()}, {"model-00001-of-00002.safetensors"});
}

TEST_CASE("bad input: shard path escaping the model directory", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  fs::rename(model / "model.safetensors", dir.path / "outside.safetensors");
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  index["weight_map"]["model.embed_tokens.weight"] = "../outside.safetensors";
  write_text(model / "model.safetensors.index.json", index.dump());
  require_one_line_error({"inspect", model.string()}, {"model.safetensors.index.json", "../outside.safetensors"});
}

TEST_CASE("bad input: config.json missing a required field", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  nlohmann::json config = tiny_config_json();
  config.erase("num_hidden_layers");
  write_text(model / "config.json", config.dump());
  require_one_line_error({"inspect", model.string()}, {"config.json", "num_hidden_layers"});
}

TEST_CASE("bad input: config.json with an unknown architecture", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  nlohmann::json config = tiny_config_json();
  config["architectures"] = {"GPTNeoXForCausalLM"};
  write_text(model / "config.json", config.dump());
  require_one_line_error({"inspect", model.string()}, {"config.json", "GPTNeoXForCausalLM"});
}

TEST_CASE("bad input: malformed config.json", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  write_text(model / "config.json", "{\"hidden_size\": 8,");
  require_one_line_error({"inspect", model.string()}, {"config.json"});
}

TEST_CASE("bad input: a tensor of the wrong shape", "[cli][bad-input]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model, "model.layers.0.mlp.up_proj.weight", {16, 4});
  require_one_line_error({"inspect", model.string()},
                         {"model.layers.0.mlp.up_proj.weight", "[16, 4]", "[16, 8]"});
}

TEST_CASE("bad input: a path that does not exist", "[cli][bad-input]") {
  require_one_line_error({"inspect", "/nonexistent/llmft-model"}, {"/nonexistent/llmft-model"});
}

TEST_CASE("cli: --version reports llmft, libtorch and CUDA", "[cli]") {
  const auto result = run_llmft({"--version"});
  REQUIRE(result.exit_code == 0);
  REQUIRE_THAT(result.out, Contains("llmft " LLMFT_VERSION));
  REQUIRE_THAT(result.out, Contains("libtorch"));
  REQUIRE_THAT(result.out, Contains("CUDA"));
}

TEST_CASE("bad input: truncated GGUF", "[cli][bad-input][gguf]") {
  const auto model = llmft::io::find_default_model();
  REQUIRE(model.has_value());
  TempDir dir("llmft-bad");
  const fs::path file = dir.path / "cut.gguf";
  fs::copy_file(*model, file);
  fs::resize_file(file, 4096);  // inside the tokenizer metadata
  require_one_line_error({"inspect", file.string()}, {"cut.gguf", "bytes left in the file"});
}

TEST_CASE("bad input: convert refuses a non-GGUF input and a non-empty output", "[cli][bad-input][gguf]") {
  TempDir dir("llmft-bad");
  const fs::path model = dir.path / "m";
  write_tiny_checkpoint(model);
  require_one_line_error({"convert", model.string(), "--out", dir.path.string() + "/o"}, {"expects a .gguf file"});
  require_one_line_error({"convert", "smollm2-135m", "--out", model.string()}, {model.string(), "not empty"});
  require_one_line_error({"convert", "smollm2-135m", "--out", dir.path.string() + "/o2", "--dtype", "int3"},
                         {"--dtype", "int3"});
}
