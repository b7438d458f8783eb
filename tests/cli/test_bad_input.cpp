// A valid checkpoint through the real binary, as the control for the bad-input cases of
// test_error_catalogue.cpp (one per error class of docs/errors.md), and --version.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

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

// A complete, valid tiny Llama checkpoint.
void write_tiny_checkpoint(const fs::path& dir) {
  fs::create_directories(dir);
  const nlohmann::json config_json = tiny_config_json();
  write_text(dir / "config.json", config_json.dump(2));
  const auto config = llmft::model::parse_hf_config(config_json, "config.json");
  std::vector<llmft::io::NamedTensor> tensors;
  for (const auto& expected : llmft::model::expected_tensors(config)) {
    if (expected.optional) continue;
    tensors.push_back({expected.name, torch::zeros(expected.shape)});
  }
  llmft::io::write_safetensors(dir / "model.safetensors", tensors);
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

TEST_CASE("cli: --version reports llmft, libtorch and CUDA", "[cli]") {
  const auto result = run_llmft({"--version"});
  REQUIRE(result.exit_code == 0);
  REQUIRE_THAT(result.out, Contains("llmft " LLMFT_VERSION));
  REQUIRE_THAT(result.out, Contains("libtorch"));
  REQUIRE_THAT(result.out, Contains("CUDA"));
}

TEST_CASE("cli: --help exits 0 with the usage on stdout and a usage mistake is an error line", "[cli]") {
  const auto help = run_llmft({"eval", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("--model"));
  CHECK(help.err.empty());
  const auto mistake = run_llmft({"inspect"});
  CHECK(mistake.exit_code == 2);
  REQUIRE(mistake.err_lines().size() == 1);
  CHECK_THAT(mistake.err_lines()[0], Contains("llmft: error: "));
}
