#include "model/cpu_gemm.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace llmft::model {
namespace {

// at::native::mkldnn_matmul(mat1, mat2, result, beta, alpha): result = alpha * mat1 @ mat2 + beta *
// result. Exported by libtorch_cpu but declared in no installed header, so it is looked up by its
// mangled name: a libtorch without oneDNN (or with another signature) simply has no such symbol.
using MkldnnMatmul = void (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, float, float);
constexpr const char* kMkldnnMatmulSymbol = "_ZN2at6native13mkldnn_matmulERKNS_6TensorES3_S3_ff";

MkldnnMatmul resolve_mkldnn_matmul() {
  if (!at::hasMKLDNN()) return nullptr;
  return reinterpret_cast<MkldnnMatmul>(dlsym(RTLD_DEFAULT, kMkldnnMatmulSymbol));
}

bool selected_by_environment() {
  const char* choice = std::getenv("LLMFT_CPU_GEMM");
  return !(choice && std::strcmp(choice, "mkl") == 0);
}

std::atomic<bool>& onednn_selected() {
  static std::atomic<bool> selected{selected_by_environment()};
  return selected;
}

MkldnnMatmul mkldnn_matmul() {
  static const MkldnnMatmul fn = resolve_mkldnn_matmul();
  return onednn_selected().load(std::memory_order_relaxed) ? fn : nullptr;
}

bool use_onednn(const at::Tensor& a, const at::Tensor& b) {
  return mkldnn_matmul() != nullptr && a.device().is_cpu() && b.device().is_cpu() &&
         a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && a.numel() > 0 && b.numel() > 0;
}

// x [..., in] as a [M, in] matrix (a view when possible).
at::Tensor rows(const at::Tensor& x) { return x.reshape({-1, x.size(-1)}); }

// t's shape with the last dimension replaced by n: [..., n].
std::vector<int64_t> with_last_dim(const at::Tensor& t, int64_t n) {
  std::vector<int64_t> shape = t.sizes().vec();
  shape.back() = n;
  return shape;
}

// x [..., in] @ weight^T through gemm -> [..., out], weight [out, in].
at::Tensor project(const at::Tensor& x, const at::Tensor& weight) {
  return gemm(rows(x), weight.t()).view(with_last_dim(x, weight.size(0)));
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// y = x w^T with each product in oneDNN; saves only what the wanted gradients need (a frozen
// weight's layer keeps the weight, not its input). A bias is added outside, by ATen's autograd
// (a custom function cannot take an undefined tensor as an input).
struct OneDnnLinear : torch::autograd::Function<OneDnnLinear> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight) {
    const bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
    ctx->save_for_backward({grad_w ? rows(x) : at::Tensor(), grad_x ? weight : at::Tensor()});  // [M, in], [out, in]
    return project(x, weight);  // [..., out]
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& grad_y = grad_outputs[0];       // [..., out]
    const at::Tensor g2 = rows(grad_y).contiguous();  // [M, out]
    at::Tensor grad_x, grad_w;
    if (weight.defined()) grad_x = gemm(g2, weight).view(with_last_dim(grad_y, weight.size(1)));  // [..., in]
    if (x2.defined()) grad_w = gemm(g2.t(), x2);  // [out, in]
    return {grad_x, grad_w};
  }
};

}  // namespace

bool onednn_cpu_gemm_enabled() { return mkldnn_matmul() != nullptr; }

void set_cpu_gemm(CpuGemm choice) { onednn_selected().store(choice == CpuGemm::kOneDnn); }

at::Tensor gemm(const at::Tensor& a, const at::Tensor& b) {
  if (!use_onednn(a, b)) return at::mm(a, b);
  at::Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
  mkldnn_matmul()(a, b, out, /*beta=*/0.0f, /*alpha=*/1.0f);
  return out;
}

void gemm_accumulate(at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  if (!use_onednn(a, b) || out.scalar_type() != at::kFloat || !out.is_contiguous()) {
    out.addmm_(a, b);
    return;
  }
  mkldnn_matmul()(a, b, out, /*beta=*/1.0f, /*alpha=*/1.0f);
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!use_onednn(x, weight) || (bias.defined() && bias.scalar_type() != at::kFloat)) {
    return at::linear(x, weight, bias);
  }
  const bool differentiable = at::GradMode::is_enabled() &&
                              (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (differentiable) {
    at::Tensor y = OneDnnLinear::apply(x, weight);
    return bias.defined() ? y + bias : y;
  }
  at::Tensor y = project(x, weight);
  if (bias.defined()) y.add_(bias);
  return y;
}

}  // namespace llmft::model
