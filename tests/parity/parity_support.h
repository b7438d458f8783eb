#pragma once
// Parity against transformers: read a fixture's reference (scripts/reference/make_fixtures.py
// writes LLMFT_FIXTURE_DIR/<case>/reference*.safetensors), run llmft's model on the same batch and
// measure how far its logits and loss are. The tests decide what is close enough.
// Shapes: B batch, T sequence, V vocab.
#include <filesystem>
#include <optional>
#include <string>

#include <ATen/Tensor.h>

#include "model/cpu_gemm.h"
#include "model/llama.h"

namespace llmft::parity {

// Runs fp32 CPU products on ATen's kernels (MKL), the ones transformers uses, while in scope. For
// the comparisons whose tolerance is set by identical kernels (adapter gradients to 1e-5, full
// fine-tuning weights to 8e-6): oneDNN's products differ from MKL's by ordinary fp32 rounding
// (~1e-5 relative after a few Adam steps, test_cpu_gemm.cpp checks them against ATen), which would
// hide the one-step weight-decay error those bounds are there to catch.
struct ScopedAtenGemm {
  ScopedAtenGemm() : had_onednn(model::onednn_cpu_gemm_enabled()) { model::set_cpu_gemm(model::CpuGemm::kAten); }
  ~ScopedAtenGemm() { model::set_cpu_gemm(had_onednn ? model::CpuGemm::kOneDnn : model::CpuGemm::kAten); }
  ScopedAtenGemm(const ScopedAtenGemm&) = delete;
  ScopedAtenGemm& operator=(const ScopedAtenGemm&) = delete;
  bool had_onednn;
};

std::filesystem::path fixture_dir();                       // LLMFT_FIXTURE_DIR
std::filesystem::path case_dir(const std::string& name);   // LLMFT_FIXTURE_DIR/<name> (an HF model dir)

struct Reference {
  at::Tensor input_ids;       // [B, T] int64
  at::Tensor attention_mask;  // [B, T] int64, 1 = token, 0 = padding
  at::Tensor labels;          // [B, T] int64, unshifted, -100 = ignored
  std::optional<at::Tensor> position_ids;  // [B, T] int64; absent means HF's default arange(T)
  at::Tensor logits;          // [B, T, V] fp32 (transformers ran in the fixture's dtype)
  at::Tensor loss;            // [] fp32
  at::Tensor valid;           // [B, T] bool: where logits are compared (real tokens)
};

// Owned copies (not views of the mapped file). Fails the test if a tensor is missing or misshapen.
Reference load_reference(const std::string& case_name, const std::string& file = "reference.safetensors");

struct ParityReport {
  double logits_max_abs = 0;   // max |llmft - ref| over valid positions (logits upcast to fp32)
  double logits_mean_abs = 0;  // mean of the same
  double ref_logits_max_abs = 0;  // scale of the reference over valid positions
  double ref_logits_rms = 0;
  double loss = 0;
  double ref_loss = 0;
  double loss_abs = 0;                // |loss - ref loss|
  double loss_vs_own_logits_abs = 0;  // |loss - fp32 cross-entropy of llmft's own logits|
  c10::ScalarType logits_dtype = c10::ScalarType::Undefined;
  std::string describe() const;  // one line, for INFO()
};

// Given: pass the reference's attention mask. Omitted: pass none (only for a batch without padding),
// exercising the plain-causal path.
enum class MaskMode { Given, Omitted };

// Runs model (in eval mode, no grad) on the reference batch. Fails the test on wrong output shapes.
ParityReport compare_to_reference(model::LlamaForCausalLM& model, const Reference& ref,
                                  MaskMode mask = MaskMode::Given);

}  // namespace llmft::parity
