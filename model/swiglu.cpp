#include "model/swiglu.h"

namespace llmft::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct SwiGlu : torch::autograd::Function<SwiGlu> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    ctx->save_for_backward({gate, up});
    return at::silu(gate) * up;
  }

  // As autograd differentiates at::silu(gate) * up: d_up = g * silu(gate), d_gate =
  // silu_backward(g * up, gate).
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& gate = saved[0];
    const at::Tensor& up = saved[1];
    const at::Tensor& g = grad_outputs[0];
    at::Tensor grad_gate, grad_up;
    if (ctx->needs_input_grad(1)) grad_up = g * at::silu(gate);
    if (ctx->needs_input_grad(0)) grad_gate = at::silu_backward(g * up, gate);
    return {grad_gate, grad_up};
  }
};

}  // namespace

at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up) {
  const bool differentiable = at::GradMode::is_enabled() && (gate.requires_grad() || up.requires_grad());
  if (!differentiable) return at::silu(gate) * up;
  return SwiGlu::apply(gate, up);
}

}  // namespace llmft::model
