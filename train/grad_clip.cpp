#include "train/grad_clip.h"

#include <map>
#include <string>
#include <utility>


namespace llmft::train {
namespace {

// torch groups grads by (device, dtype) in first-seen order and concatenates the groups' norms: the
// order of the final reduction follows it. Returns indices into `tensors` in that order.
std::vector<size_t> grouped_order(const std::vector<at::Tensor>& tensors) {
  std::vector<std::pair<std::string, at::ScalarType>> keys;
  std::map<std::pair<std::string, at::ScalarType>, std::vector<size_t>> groups;
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto key = std::make_pair(tensors[i].device().str(), tensors[i].scalar_type());
    if (!groups.count(key)) keys.push_back(key);
    groups[key].push_back(i);
  }
  std::vector<size_t> order;
  for (const auto& key : keys) order.insert(order.end(), groups[key].begin(), groups[key].end());
  return order;
}

// total = ||norms||; grads *= min(1, max_norm / (total + 1e-6)) when max_norm > 0.
double finish_clip(const at::Tensor& stacked_norms, const std::vector<at::Tensor>& grads, double max_norm) {
  const at::Tensor total = at::linalg_vector_norm(stacked_norms, 2);  // 0-dim
  if (max_norm > 0) {
    // Python's `max_norm / (total + 1e-6)` is reciprocal() * max_norm on a tensor; clamping to 1 and
    // multiplying always (no branch) is what torch does, so an unclipped grad is multiplied by 1.
    const at::Tensor coef = ((total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
    for (const auto& g : grads) g.mul_(coef.to(g.device()));
  }
  return total.item<double>();
}

}  // namespace

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  const c10::Device first_device = grads.front().device();
  std::vector<at::Tensor> norms;  // one 0-dim tensor per grad, each in its grad's dtype
  for (size_t i : grouped_order(grads)) norms.push_back(at::linalg_vector_norm(grads[i], 2).to(first_device));
  return finish_clip(at::stack(norms), grads, max_norm);
}

double clip_sharded_grad_norm(const std::vector<at::Tensor>& params, const std::vector<bool>& owned,
                              const SumAcross& sum_across, double max_norm) {
  torch::NoGradGuard no_grad;
  if (params.empty()) return 0.0;
  // Grads have their parameter's dtype and device, so the grouping is the parameters'.
  const std::vector<size_t> order = grouped_order(params);
  at::ScalarType stacked_type = params[order.front()].scalar_type();  // what at::stack promotes to
  for (size_t i : order) stacked_type = c10::promoteTypes(stacked_type, params[i].scalar_type());
  at::Tensor norms = at::zeros({int64_t(order.size())}, at::kFloat);
  std::vector<at::Tensor> own_grads;
  for (size_t k = 0; k < order.size(); ++k) {
    const at::Tensor& param = params[order[k]];
    // Not owned, or no gradient at all this window (no supervised token on any rank): norm 0, as in
    // the unsharded run, whose gradients are then undefined everywhere.
    if (!owned[order[k]] || !param.grad().defined()) continue;
    // The norm in the grad's dtype, widened to fp32 for the sum (exact for bf16/fp16/fp32).
    norms[int64_t(k)].copy_(at::linalg_vector_norm(param.grad(), 2).to(at::kCPU, at::kFloat));
    own_grads.push_back(param.grad());
  }
  sum_across(norms);
  return finish_clip(norms.to(params[order.front()].device(), stacked_type), own_grads, max_norm);
}

}  // namespace llmft::train
