#pragma once
// AdamW with decoupled weight decay, numerically equal to torch.optim.AdamW (foreach=False,
// fused=False, amsgrad=False, maximize=False) step for step, with its state kept in named tensors so
// a checkpoint stores it in safetensors (no pickle) and resume is bit-exact.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/safetensors.h"

namespace llmft::train {

struct AdamWOptions {
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Keep an fp32 master copy of every bf16/fp16 parameter: the update is applied to the master and
  // rounded into the parameter, so small updates are not lost to bf16 rounding.
  bool fp32_master_weights = false;
};

struct OptimizedParam {
  std::string name;  // state-dict name, e.g. model.layers.0.self_attn.q_proj.lora_A.weight
  at::Tensor param;  // requires_grad
  bool decay = true;  // false for norms and biases (see decays())
};

// HF Trainer's rule (get_decay_parameter_names): weight decay for every parameter except biases and
// normalisation weights, i.e. unless the lowercased name contains "bias", "layernorm" or "rmsnorm",
// or has a dot-separated component "norm" or ending in "_norm" (model.norm.weight,
// model.layers.0.input_layernorm.weight).
bool decays(const std::string& name);

class AdamW {
 public:
  AdamW(std::vector<OptimizedParam> params, AdamWOptions options);

  // One update with learning rate `lr` using each parameter's .grad() (parameters without a grad
  // are skipped, their step count included, as torch does). exp_avg/exp_avg_sq are fp32 whatever
  // the parameter dtype; fp32 parameters are updated in place with torch's exact operations.
  void step(double lr);
  void zero_grad();  // sets grads to undefined (torch's set_to_none=True)

  int64_t steps_taken() const { return step_; }
  const std::vector<OptimizedParam>& params() const { return params_; }

  // "step" (int64 scalar: updates taken), then per parameter "<name>.exp_avg", "<name>.exp_avg_sq"
  // (fp32, the parameter's shape), "<name>.step" (int64 scalar: updates this parameter received; torch
  // counts per parameter, and the bias corrections use it) and "<name>.master" (fp32, when kept).
  std::vector<io::NamedTensor> state_tensors() const;
  // Inverse of state_tensors(); throws llmft::Error naming `source` and the tensor on a missing
  // name, an unexpected one, or a wrong shape.
  void load_state(const std::map<std::string, at::Tensor>& state, const std::string& source);

 private:
  std::vector<OptimizedParam> params_;
  AdamWOptions options_;
  int64_t step_ = 0;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_, master_;  // one per param; master_ undefined when not kept
  std::vector<int64_t> param_steps_;                       // one per param
};

}  // namespace llmft::train
