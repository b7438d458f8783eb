// The same transformers references as test_hf_parity.cpp, with llmft's model on a CUDA device.
// Runs where libtorch has CUDA and a GPU is present (the prepared GPU check); elsewhere each case
// warns and passes without asserting, since CI machines have no GPU.
#include <string>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "model/load.h"
#include "tests/parity/parity_support.h"
#include "tests/support/catch.h"

using namespace llmft;

namespace {

bool cuda_present() {
  if (torch::cuda::is_available()) return true;
  WARN("no CUDA device: CUDA parity not checked on this machine");
  return false;
}

// fp32 on the GPU: cuBLAS without TF32 (libtorch's default) and SDPA's fp32 kernels differ from the
// CPU run only in summation order; the CPU bounds of test_hf_parity.cpp hold with the same margin.
constexpr double kCudaFp32LogitsAtol = 1e-4;
constexpr double kCudaFp32LossAtol = 1e-5;
// bf16: same scale-relative bounds as the CPU bf16 cases (see test_hf_parity.cpp): max 10 eps
// max|ref|, loss 0.25 eps |loss|, eps = 2^-8. GPU bf16 GEMMs accumulate in fp32 as the CPU does.
constexpr double kBf16Eps = 1.0 / 256.0;

parity::ParityReport run_on_cuda(const std::string& name, c10::ScalarType dtype) {
  auto loaded = model::load_pretrained(parity::case_dir(name), dtype, c10::Device(c10::kCUDA, 0));
  for (const auto& p : loaded.model->parameters()) REQUIRE(p.is_cuda());
  return parity::compare_to_reference(loaded.model, parity::load_reference(name));
}

}  // namespace

TEST_CASE("cuda parity: fp32 cases on the GPU match transformers", "[parity][fixtures][cuda]") {
  if (!cuda_present()) return;
  for (const char* name : {"llama_gqa", "llama3_rope_tied", "llama_linear_rope", "mistral", "qwen2_bias",
                           "llama_two_shard"}) {
    const auto r = run_on_cuda(name, at::kFloat);
    INFO(name << ": " << r.describe());
    CHECK(r.logits_max_abs <= kCudaFp32LogitsAtol);
    CHECK(r.loss_abs <= kCudaFp32LossAtol);
  }
}

TEST_CASE("cuda parity: bf16 checkpoint on the GPU", "[parity][fixtures][cuda]") {
  if (!cuda_present()) return;
  const auto r = run_on_cuda("llama_bf16", at::kBFloat16);
  INFO(r.describe());
  CHECK(r.logits_dtype == at::kBFloat16);
  CHECK(r.logits_max_abs <= 10.0 * kBf16Eps * r.ref_logits_max_abs);
  CHECK(r.loss_abs <= 0.25 * kBf16Eps * std::abs(r.ref_loss));
}

TEST_CASE("cuda: a training-style backward on the GPU gives finite gradients", "[fixtures][cuda]") {
  if (!cuda_present()) return;
  auto loaded = model::load_pretrained(parity::case_dir("llama_gqa"), at::kBFloat16, c10::Device(c10::kCUDA, 0));
  auto ref = parity::load_reference("llama_gqa");
  model::ForwardArgs args;
  args.input_ids = ref.input_ids;
  args.attention_mask = ref.attention_mask;
  args.labels = ref.labels;
  loaded.model->train();
  const auto out = loaded.model->forward(args);
  out.loss.backward();
  for (const auto& p : loaded.model->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    REQUIRE(torch::isfinite(p.value().grad()).all().item<bool>());
  }
}
