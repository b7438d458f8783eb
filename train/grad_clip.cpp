#include "train/grad_clip.h"

#include <map>
#include <utility>

namespace llmft::train {

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;

  // torch groups grads by (device, dtype) in first-seen order and concatenates the groups' norms:
  // the order of the final reduction follows it.
  std::vector<std::pair<c10::Device, at::ScalarType>> group_keys;
  std::map<std::pair<std::string, at::ScalarType>, std::vector<at::Tensor>> groups;
  for (const auto& g : grads) {
    auto key = std::make_pair(g.device().str(), g.scalar_type());
    if (!groups.count(key)) group_keys.emplace_back(g.device(), g.scalar_type());
    groups[key].push_back(g);
  }
  const c10::Device first_device = grads.front().device();
  std::vector<at::Tensor> norms;  // one 0-dim tensor per grad, each in its grad's dtype
  for (const auto& [device, dtype] : group_keys)
    for (const auto& g : groups[{device.str(), dtype}]) norms.push_back(at::linalg_vector_norm(g, 2).to(first_device));
  const at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);  // 0-dim

  if (max_norm > 0) {
    // Python's `max_norm / (total + 1e-6)` is reciprocal() * max_norm on a tensor; clamping to 1 and
    // multiplying always (no branch) is what torch does, so an unclipped grad is multiplied by 1.
    const at::Tensor coef = ((total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
    for (auto& g : grads) g.mul_(coef.to(g.device()));
  }
  return total.item<double>();
}

}  // namespace llmft::train
