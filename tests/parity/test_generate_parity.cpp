// Greedy generation with the KV cache against transformers' generate(do_sample=False): the
// generated ids must be equal, on the tiny reference checkpoints (fp32; GQA, Qwen2 biases, Mistral's
// sliding window exceeded, llama3 rope with tied embeddings), on the tiny chat model with its ChatML
// template, and on the real SmolLM2-135M-Instruct GGUF through `llmft generate` (a chat prompt,
// 24 new tokens). scripts/reference/generate_reference.py writes transformers' ids.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/tokenizer_loader.h"
#include "eval/generate_loop.h"
#include "eval/generate_prompts.h"
#include "io/model_locator.h"
#include "model/load.h"
#include "tests/parity/parity_support.h"
#include "tests/support/catch.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace llmft;

namespace {

const std::string kPython = LLMFT_SOURCE_DIR "/.venv/bin/python";
const std::string kScript = LLMFT_SOURCE_DIR "/scripts/reference/generate_reference.py";

// transformers' references, computed once per test process (loading transformers dominates).
const nlohmann::json& references() {
  static const nlohmann::json cases = [] {
    test::TempDir dir("llmft-generate-ref");
    const fs::path out = dir.path / "generate_reference.json";
    std::string command = kPython + " " + kScript + " --fixtures '" + parity::fixture_dir().string() + "' --out '" +
                          out.string() + "'";
    if (auto gguf = io::find_default_model()) command += " --smollm2 '" + gguf->string() + "'";
    command += " >/dev/null 2>&1";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
    return nlohmann::json::parse(test::read_file_bytes(out))["cases"];
  }();
  return cases;
}

std::vector<int32_t> ids_of(const nlohmann::json& array) { return array.get<std::vector<int32_t>>(); }

eval::GenerateResult greedy(model::LlamaForCausalLMImpl& model, const std::vector<int32_t>& prompt,
                            const nlohmann::json& reference) {
  eval::SamplingOptions sampling;
  sampling.greedy = true;
  eval::Sampler sampler(sampling);
  eval::GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(reference["output_ids"].size());
  options.stop_ids = ids_of(reference["eos_token_id"]);
  return eval::generate(model, prompt, options, sampler);
}

}  // namespace

TEST_CASE("generate parity: greedy ids equal transformers' on the tiny checkpoints",
          "[generate][parity][fixtures]") {
  int compared = 0;
  for (const nlohmann::json& ref : references()) {
    if (!ref.contains("prompt_text") && ref["name"] != "smollm2") {
      INFO(ref["name"].get<std::string>());
      auto loaded = model::load_pretrained(parity::case_dir(ref["fixture"].get<std::string>()), at::kFloat, at::kCPU);
      loaded.model->eval();
      const eval::GenerateResult result = greedy(*loaded.model, ids_of(ref["prompt_ids"]), ref);
      CHECK(result.ids == ids_of(ref["output_ids"]));
      ++compared;
    }
  }
  CHECK(compared == 8);
}

TEST_CASE("generate parity: the tiny chat model's ChatML prompt and greedy reply equal transformers'",
          "[generate][parity][fixtures]") {
  const nlohmann::json* ref = nullptr;
  for (const nlohmann::json& c : references())
    if (c["name"] == "tiny_chat") ref = &c;
  REQUIRE(ref != nullptr);
  const fs::path dir = parity::case_dir("tiny_chat");
  auto tokenizer = data::load_tokenizer(dir);
  auto loaded = model::load_pretrained(dir, at::kFloat, at::kCPU);
  loaded.model->eval();
  const eval::PromptFormat format =
      eval::resolve_prompt_format("auto", std::nullopt, *tokenizer, loaded.config.eos_token_ids);
  REQUIRE(format.template_name == "chatml");
  const std::vector<int32_t> prompt =
      eval::encode_conversation(format, {{"user", (*ref)["question"].get<std::string>()}}, *tokenizer);
  REQUIRE(prompt == ids_of((*ref)["prompt_ids"]));
  CHECK(greedy(*loaded.model, prompt, *ref).ids == ids_of((*ref)["output_ids"]));
}

TEST_CASE("generate parity: SmolLM2-135M greedy chat reply through llmft generate equals transformers'",
          "[generate][parity][smollm2][fixtures]") {
  const nlohmann::json* ref = nullptr;
  for (const nlohmann::json& c : references())
    if (c["name"] == "smollm2") ref = &c;
  REQUIRE(ref != nullptr);  // scripts/install-deps.sh installs the bundled model
  const auto start = std::chrono::steady_clock::now();
  const test::CliResult r =
      test::run_llmft({"generate", "--model", "smollm2-135m", "--prompt", (*ref)["question"].get<std::string>(),
                       "--greedy", "--max-new-tokens", std::to_string((*ref)["output_ids"].size()), "--json",
                       "--device", "cpu"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json out = nlohmann::json::parse(r.out);
  INFO("llmft generate (load + prefill + decode) " << seconds << " s; text: " << out["text"].get<std::string>());
  CHECK(ids_of(out["ids"]) == ids_of((*ref)["output_ids"]));
}
