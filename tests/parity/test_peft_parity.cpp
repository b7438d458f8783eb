// llmft's LoRA against PEFT 0.21.2 on a tiny fp32 checkpoint: llmft initialises and saves an
// adapter, scripts/reference/peft_reference.py loads it with PeftModel.from_pretrained and runs one
// forward + backward on the fixture's batch, and both sides' loss, logits and every adapter
// gradient are compared here. B is set to random non-zero values first, so the adapters change the
// logits and A's gradients (zero while B = 0) are compared too.
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "lora/inject.h"
#include "lora/lora_linear.h"
#include "lora/peft_adapter.h"
#include "model/load.h"
#include "tests/parity/parity_support.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft;
namespace fs = std::filesystem;

namespace {

// fp32 throughout, dropout 0: the two sides differ only in summation order. Losses are ~6 (fp32
// spacing 5e-7); logits |x| <= 5. Each adapter gradient's max |g| lies between 0.03 and 2.6 on
// these fixtures (B ~ N(0, 0.2)), so the absolute 1e-5 on gradients is at most 4e-4 of any tensor's
// scale; the measured worst difference is ~1e-7. A modelling mistake is far outside: on
// qwen2_bias, alpha/r in place of rsLoRA's alpha/sqrt(r) moves logits by 5.
constexpr double kLossAtol = 1e-5;
constexpr double kLogitsAtol = 1e-4;
constexpr double kGradAtol = 1e-5;

const std::string kPython = LLMFT_SOURCE_DIR "/.venv/bin/python";
const std::string kScript = LLMFT_SOURCE_DIR "/scripts/reference/peft_reference.py";

std::string quote(const fs::path& p) { return "\"" + p.string() + "\""; }

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

void check_against_peft(const std::string& case_name, const lora::LoraOptions& options) {
  parity::ScopedAtenGemm same_kernels_as_transformers;  // the 1e-5 gradient bound assumes them
  INFO("fixture " << case_name << ", r " << options.rank << ", alpha " << options.alpha << ", rsLoRA "
                  << options.use_rslora);
  const fs::path model_dir = parity::case_dir(case_name);
  auto loaded = model::load_pretrained(model_dir, at::kFloat, at::kCPU);
  auto& m = *loaded.model;
  const auto report = lora::inject_lora(m, options);
  REQUIRE(!report.wrapped.empty());
  {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed + 100);
    torch::NoGradGuard no_grad;
    for (auto& w : lora::lora_modules(m)) {
      auto& b = w.module->lora_B->weight;
      b.copy_(at::normal(0.0, 0.2, b.sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
    }
  }

  test::TempDir dir("llmft-peft-parity");
  const fs::path adapter = dir.path / "adapter";
  const fs::path out = dir.path / "peft.safetensors";
  lora::save_peft_adapter(adapter, m, options, model_dir.string());
  const std::string command = quote(kPython) + " " + quote(kScript) + " --model " + quote(model_dir) + " --adapter " +
                              quote(adapter) + " --reference " + quote(model_dir / "reference.safetensors") +
                              " --out " + quote(out) + " --save " + quote(dir.path / "peft_adapter") + " > " +
                              quote(dir.path / "log.txt") + " 2>&1";
  const int rc = std::system(command.c_str());
  INFO("peft_reference.py output:\n" << test::read_file_bytes(dir.path / "log.txt"));
  REQUIRE(rc == 0);
  const auto peft = io::SafetensorsFile::open(out);

  const auto ref = parity::load_reference(case_name);
  m.train();
  const auto result = m.forward({ref.input_ids, ref.attention_mask, ref.position_ids, ref.labels});
  result.loss.backward();

  const double loss_diff = std::fabs(result.loss.item<double>() - peft.tensor("loss").item<double>());
  INFO("loss " << result.loss.item<double>() << " vs PEFT " << peft.tensor("loss").item<double>());
  CHECK(loss_diff <= kLossAtol);

  // Logits where they are defined (real tokens); padded positions are implementation-defined.
  const at::Tensor valid = ref.valid.to(at::kBool).unsqueeze(-1);  // [B, T, 1]
  const at::Tensor logits_diff = (result.logits.detach() - peft.tensor("logits")).abs().masked_fill(~valid, 0);
  INFO("logits max |diff| " << logits_diff.max().item<double>());
  CHECK(logits_diff.max().item<double>() <= kLogitsAtol);
  // The adapters matter: PEFT's logits move away from the base model's (transformers' reference).
  CHECK((peft.tensor("logits") - ref.logits).abs().masked_fill(~valid, 0).max().item<double>() > 1e-2);

  size_t compared = 0;
  double worst = 0;
  for (const auto& w : lora::lora_modules(m)) {
    for (const char* which : {"lora_A", "lora_B"}) {
      const std::string key = lora::peft_key(w.path, which);
      INFO(key);
      const auto& param = std::string(which) == "lora_A" ? w.module->lora_A->weight : w.module->lora_B->weight;
      REQUIRE(peft.find("grad." + key) != nullptr);
      // PEFT holds exactly the weights llmft wrote.
      CHECK(at::equal(param.detach(), peft.tensor("weight." + key)));
      REQUIRE(param.grad().defined());
      const at::Tensor ref_grad = peft.tensor("grad." + key);
      CHECK(ref_grad.abs().max().item<double>() > 1e-3);  // far above kGradAtol, so the comparison can fail
      const double diff = max_abs_diff(param.grad(), ref_grad);
      worst = std::max(worst, diff);
      INFO("grad max |diff| " << diff << ", scale " << ref_grad.abs().max().item<double>());
      CHECK(diff <= kGradAtol);
      ++compared;
    }
  }
  // Every tensor PEFT trained has a counterpart here: grad.* and weight.* per adapter, plus loss, logits.
  CHECK(peft.tensors().size() == 2 * compared + 2);
  // The other direction: the adapter as PEFT's save_pretrained writes it loads into a fresh model
  // with the same options and exactly the same weights.
  auto fresh = model::load_pretrained(model_dir, at::kFloat, at::kCPU);
  const auto read = lora::load_peft_adapter(dir.path / "peft_adapter", *fresh.model);
  CHECK(read.rank == options.rank);
  CHECK(read.alpha == options.alpha);
  CHECK(read.use_rslora == options.use_rslora);
  const auto ours = lora::lora_modules(m);
  const auto theirs = lora::lora_modules(*fresh.model);
  REQUIRE(theirs.size() == ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO(ours[i].path);
    CHECK(theirs[i].path == ours[i].path);
    CHECK(at::equal(theirs[i].module->lora_A->weight, ours[i].module->lora_A->weight));
    CHECK(at::equal(theirs[i].module->lora_B->weight, ours[i].module->lora_B->weight));
    CHECK(theirs[i].module->scaling() == ours[i].module->scaling());
  }
  WARN(case_name << ": loss |diff| " << loss_diff << ", logits max |diff| " << logits_diff.max().item<double>()
                 << ", worst gradient |diff| " << worst << " over " << compared << " adapter tensors");
}

}  // namespace

TEST_CASE("LoRA matches PEFT: loss, logits and adapter gradients (all-linear)", "[parity][fixtures][lora]") {
  lora::LoraOptions o;
  o.rank = 4;
  o.alpha = 8;
  o.dropout = 0;
  o.target_modules = {"all-linear"};
  o.seed = 11;
  check_against_peft("llama_gqa", o);
}

TEST_CASE("rsLoRA matches PEFT on a model with attention biases", "[parity][fixtures][lora]") {
  lora::LoraOptions o;
  o.rank = 8;
  o.alpha = 16;
  o.dropout = 0;
  o.use_rslora = true;
  o.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "down_proj"};
  o.seed = 12;
  check_against_peft("qwen2_bias", o);
}
