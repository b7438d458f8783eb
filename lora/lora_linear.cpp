#include "lora/lora_linear.h"

#include <cmath>

#include "model/cpu_gemm.h"

namespace llmft::lora {

namespace {
// The base constructor registers `weight`/`bias` as fresh tensors; building them on the meta
// device costs no memory before they are swapped for the base layer's own tensors.
at::TensorOptions meta_like(const at::Tensor& t) { return t.options().device(at::kMeta); }
}  // namespace

LoraLinearImpl::LoraLinearImpl(const model::LinearImpl& base, int64_t rank, double scaling, double dropout)
    : model::LinearImpl(base.weight.size(1), base.weight.size(0), base.bias.defined(), meta_like(base.weight)),
      rank_(rank),
      scaling_(scaling),
      dropout_(dropout) {
  // Same tensors, same registered names: the base weight keeps its HF key and its storage.
  weight = base.weight;
  parameters_["weight"] = weight;
  if (base.bias.defined()) {
    bias = base.bias;
    parameters_["bias"] = bias;
  }
  const auto adapter_options = at::TensorOptions().dtype(at::kFloat).device(weight.device());
  lora_A = register_module("lora_A", model::Linear(in_features(), rank, false, adapter_options));   // [r, in]
  lora_B = register_module("lora_B", model::Linear(rank, out_features(), false, adapter_options));  // [out, r]
  {
    torch::NoGradGuard no_grad;
    lora_B->weight.zero_();
  }
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& x) {
  at::Tensor result = model::linear(x, weight, bias);  // [..., out], activation dtype
  at::Tensor h = x.to(at::kFloat);                   // [..., in] fp32
  if (dropout_ > 0 && is_training()) h = at::dropout(h, dropout_, /*train=*/true);
  at::Tensor delta = lora_B->forward(lora_A->forward(h)) * scaling_;  // [..., r] -> [..., out] fp32
  return (result + delta).to(result.scalar_type());
}

double lora_scaling(double alpha, int64_t rank, bool use_rslora) {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
}

}  // namespace llmft::lora
