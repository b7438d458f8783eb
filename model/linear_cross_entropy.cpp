#include "model/linear_cross_entropy.h"

#include <algorithm>

#include "model/cpu_gemm.h"

namespace llmft::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The gradients are formed in forward (they need the same chunk logits as the loss) and only
// scaled by the incoming gradient in backward, so the projection runs twice (logits, grad_hidden)
// plus once for grad_weight when trained: the same matmuls as an unfused forward + backward.
struct LinearCrossEntropy : torch::autograd::Function<LinearCrossEntropy> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t ignore_index, int64_t chunk_bytes) {
    const bool grad_hidden_wanted = hidden.requires_grad();
    const bool grad_weight_wanted = weight.requires_grad();
    const int64_t V = weight.size(0);

    const at::Tensor rows = (targets != ignore_index).nonzero().squeeze(1);  // [M]
    const at::Tensor h = hidden.index_select(0, rows);                      // [M, C]
    const at::Tensor t = targets.index_select(0, rows).unsqueeze(1);        // [M, 1]
    const int64_t M = rows.size(0);
    const int64_t chunk = std::max<int64_t>(1, chunk_bytes / (V * int64_t(sizeof(float))));

    at::Tensor loss = at::zeros({}, hidden.options().dtype(at::kFloat));
    at::Tensor grad_h = grad_hidden_wanted ? at::empty_like(h) : at::Tensor();  // [M, C]
    at::Tensor grad_w = grad_weight_wanted ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat))
                                           : at::Tensor();  // [V, C] fp32 accumulator
    for (int64_t start = 0; start < M; start += chunk) {
      const int64_t m = std::min(chunk, M - start);
      const at::Tensor hc = h.narrow(0, start, m);                  // [m, C]
      const at::Tensor tc = t.narrow(0, start, m);                  // [m, 1]
      at::Tensor logits = gemm(hc, weight.t()).to(at::kFloat);  // [m, V] fp32
      const at::Tensor lse = at::logsumexp(logits, 1, true);           // [m, 1]
      loss += (lse - logits.gather(1, tc)).sum();
      if (!grad_hidden_wanted && !grad_weight_wanted) continue;
      // d(sum CE)/d logits = softmax - one_hot(target), formed in place over the logits.
      logits.sub_(lse).exp_();
      logits.scatter_add_(1, tc, at::full({m, 1}, -1.0f, logits.options()));
      const at::Tensor g = logits.to(weight.scalar_type());  // [m, V]
      if (grad_hidden_wanted) grad_h.narrow(0, start, m).copy_(gemm(g, weight));
      if (grad_weight_wanted) gemm_accumulate(grad_w, g.t().to(at::kFloat), hc.to(at::kFloat));
    }
    ctx->save_for_backward({rows, grad_h, grad_w});
    ctx->saved_data["rows_total"] = hidden.size(0);
    ctx->saved_data["weight_dtype"] = weight.scalar_type();
    return loss;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& rows = saved[0];
    const at::Tensor& grad_h = saved[1];
    const at::Tensor& grad_w = saved[2];
    const at::Tensor scale = grad_outputs[0];  // [] fp32
    at::Tensor grad_hidden, grad_weight;
    if (grad_h.defined()) {
      const int64_t N = ctx->saved_data["rows_total"].toInt();
      grad_hidden = at::zeros({N, grad_h.size(1)}, grad_h.options());
      grad_hidden.index_copy_(0, rows, grad_h * scale.to(grad_h.scalar_type()));
    }
    if (grad_w.defined()) grad_weight = (grad_w * scale).to(ctx->saved_data["weight_dtype"].toScalarType());
    return {grad_hidden, grad_weight, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                    int64_t ignore_index, int64_t chunk_bytes) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
              "linear_cross_entropy_sum: hidden [N, C] and weight [V, C] expected, got ", hidden.sizes(), " and ",
              weight.sizes());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0),
              "linear_cross_entropy_sum: targets [N] expected, got ", targets.sizes());
  return LinearCrossEntropy::apply(hidden, weight, targets.to(at::kLong), ignore_index, chunk_bytes);
}

int64_t default_cross_entropy_chunk_bytes(const c10::Device& device) {
  return device.is_cpu() ? (int64_t(64) << 20) : (int64_t(1) << 30);
}

}  // namespace llmft::model
