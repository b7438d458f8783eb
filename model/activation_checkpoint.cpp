#include "model/activation_checkpoint.h"

#include <optional>

#include "model/llama.h"

namespace llmft::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Generator states captured just before the forward, replayed for the recomputation.
struct RngSnapshot {
  at::Tensor cpu;
  std::optional<c10::Device> cuda_device;
  at::Tensor cuda;
};

RngSnapshot capture_rng(const c10::Device& device) {
  RngSnapshot s;
  at::Generator cpu = at::globalContext().defaultGenerator(c10::DeviceType::CPU);  // a handle: shares the generator
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    s.cpu = cpu.get_state();
  }
  if (device.is_cuda()) {
    s.cuda_device = device;
    at::Generator g = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(g.mutex());
    s.cuda = g.get_state();
  }
  return s;
}

void restore_rng(const RngSnapshot& s) {
  at::Generator cpu = at::globalContext().defaultGenerator(c10::DeviceType::CPU);
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(s.cpu);
  }
  if (s.cuda_device) {
    at::Generator g = at::globalContext().defaultGenerator(*s.cuda_device);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(s.cuda);
  }
}

// Everything backward needs besides the saved input; held in the context as a capsule because
// autograd's saved_data only takes IValues.
struct CheckpointState : torch::CustomClassHolder {
  DecoderLayerImpl* layer = nullptr;
  RotaryTables rope;  // no grad: computed from position ids
  at::Tensor mask;    // bool or undefined
  RngSnapshot rng;
  bool input_requires_grad = false;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  // `dummy` requires grad, so this node is in the graph even when x is not. Runs with grad disabled
  // (Function::apply guarantees it): nothing inside the layer is recorded.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& dummy,
                            c10::intrusive_ptr<CheckpointState> state) {
    (void)dummy;
    state->rng = capture_rng(x.device());
    state->input_requires_grad = x.requires_grad();
    ctx->save_for_backward({x});
    at::Tensor out = state->layer->forward(x, state->rope, state->mask);
    ctx->saved_data["state"] = c10::IValue::make_capsule(std::move(state));
    return out;
  }

  // grad_outputs[0] [B, T, C] -> {grad of x (undefined when x needs none), none for dummy, none for state}.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto state = c10::static_intrusive_pointer_cast<CheckpointState>(ctx->saved_data["state"].toCapsule());
    if (!grad_outputs[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};  // output unused
    const at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(state->input_requires_grad);

    const RngSnapshot callers = capture_rng(x.device());
    restore_rng(state->rng);
    at::Tensor out;
    try {
      torch::AutoGradMode enable_grad(true);
      out = state->layer->forward(x, state->rope, state->mask);
    } catch (...) {
      restore_rng(callers);
      throw;
    }
    restore_rng(callers);

    // Nothing in the layer (nor its input) needs a gradient: a fully frozen model.
    if (!out.requires_grad()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    // Reentrant backward through the recomputed graph: parameter grads accumulate into .grad() as
    // in an ordinary backward, and the input's grad lands in x.grad().
    torch::autograd::backward({out}, {grad_outputs[0]});
    return {state->input_requires_grad ? x.grad() : at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpointed_layer_forward(DecoderLayerImpl& layer, const at::Tensor& x, const RotaryTables& rope,
                                      const at::Tensor& mask) {
  auto state = c10::make_intrusive<CheckpointState>();
  state->layer = &layer;
  state->rope = rope;
  state->mask = mask;
  const at::Tensor dummy = at::empty({0}, x.options().dtype(at::kFloat)).requires_grad_(true);
  return CheckpointFunction::apply(x, dummy, std::move(state));
}

}  // namespace llmft::model
