#pragma once
// A Linear with a low-rank adapter beside it, as PEFT's lora.Linear computes it:
//   y = W x + b + s * B(A(dropout(x)))     W [out, in] frozen, A [r, in], B [out, r] trainable
// It derives from model::LinearImpl so it stands in for a Linear under the same registered name:
// the base `weight`/`bias` keep their HF keys (model.layers.N.self_attn.q_proj.weight) and the
// adapters live in two child Linears named "lora_A" and "lora_B", whose `weight` parameters give
// exactly PEFT's saved keys (...q_proj.lora_A.weight, ...q_proj.lora_B.weight) with no renaming.
// Shapes: in = in_features, out = out_features, r = rank.
#include <cstdint>

#include <torch/torch.h>

#include "model/layers.h"

namespace llmft::lora {

class LoraLinearImpl : public model::LinearImpl {
 public:
  // Shares (does not copy) base's weight and bias. The adapters are fp32 on the base's device:
  // A uninitialised, B zeros (inject.cpp initialises A as PEFT does).
  LoraLinearImpl(const model::LinearImpl& base, int64_t rank, double scaling, double dropout);

  // Base product in the activation dtype; the adapter path in fp32 on x cast to fp32; their sum is
  // cast back to the activation dtype (PEFT's order: result + B(A(x)) * s, then .to(dtype)).
  at::Tensor forward(const at::Tensor& x) override;  // [..., in] -> [..., out]

  int64_t rank() const { return rank_; }
  double scaling() const { return scaling_; }
  double dropout() const { return dropout_; }
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  model::Linear lora_A{nullptr};  // weight [r, in] fp32
  model::Linear lora_B{nullptr};  // weight [out, r] fp32

 private:
  int64_t rank_;
  double scaling_;
  double dropout_;
};
TORCH_MODULE(LoraLinear);

// alpha / r, or alpha / sqrt(r) with rank-stabilised LoRA (rsLoRA), as PEFT's update_layer.
double lora_scaling(double alpha, int64_t rank, bool use_rslora);

}  // namespace llmft::lora
