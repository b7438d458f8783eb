#include "train/adamw.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "io/error.h"
#include "io/shape_text.h"

namespace llmft::train {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True when one dot-separated component of `name` equals `part` or ends with `suffix`.
bool has_component(const std::string& name, const std::string& part, const std::string& suffix) {
  size_t begin = 0;
  while (begin <= name.size()) {
    size_t end = name.find('.', begin);
    if (end == std::string::npos) end = name.size();
    const std::string c = name.substr(begin, end - begin);
    if (c == part || (c.size() >= suffix.size() && c.compare(c.size() - suffix.size(), suffix.size(), suffix) == 0))
      return true;
    begin = end + 1;
  }
  return false;
}

bool is_low_precision(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf; }

}  // namespace

// transformers' Trainer.get_decay_parameter_names: the lowercased name must match none of
// "bias", "layernorm", "rmsnorm", "(^|\.)norm($|\.)", "_norm($|\.)".
bool decays(const std::string& name) {
  const std::string n = lower(name);
  if (n.find("bias") != std::string::npos || n.find("layernorm") != std::string::npos ||
      n.find("rmsnorm") != std::string::npos)
    return false;
  return !has_component(n, "norm", "_norm");
}

AdamW::AdamW(std::vector<OptimizedParam> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  std::set<std::string> seen;
  for (const auto& p : params_) {
    if (!p.param.defined()) throw Error("AdamW: parameter " + p.name + " is undefined");
    if (!at::isFloatingType(p.param.scalar_type()))
      throw Error("AdamW: parameter " + p.name + " is not floating point");
    if (!seen.insert(p.name).second) throw Error("AdamW: parameter " + p.name + " is listed twice");
    const auto fp32 = p.param.options().dtype(at::kFloat);
    exp_avg_.push_back(at::zeros(p.param.sizes(), fp32));
    exp_avg_sq_.push_back(at::zeros(p.param.sizes(), fp32));
    master_.push_back(options_.fp32_master_weights && is_low_precision(p.param)
                          ? p.param.detach().to(at::kFloat).clone()
                          : at::Tensor());
    param_steps_.push_back(0);
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double beta1 = options_.beta1, beta2 = options_.beta2, eps = options_.eps, wd = options_.weight_decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor param = params_[i].param;
    if (!param.grad().defined()) continue;  // torch skips parameters without a gradient, step count included
    const int64_t step = ++param_steps_[i];
    // fp32 parameters are updated in place, exactly as torch does; others through an fp32 copy (the
    // master, when kept) that is then rounded into the parameter.
    const bool fp32 = param.scalar_type() == at::kFloat;
    at::Tensor target = fp32 ? param : (master_[i].defined() ? master_[i] : param.to(at::kFloat));
    const at::Tensor grad = param.grad().to(at::kFloat);

    // torch.optim.adam._single_tensor_adam with decoupled_weight_decay=True, op for op.
    if (wd != 0 && params_[i].decay) target.mul_(1 - lr * wd);
    exp_avg_[i].lerp_(grad, 1 - beta1);
    exp_avg_sq_[i].mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const double s = static_cast<double>(step);  // torch keeps `step` as a float tensor and reads it with .item()
    const double bias_correction1 = 1 - std::pow(beta1, s);
    const double bias_correction2 = 1 - std::pow(beta2, s);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);  // Python's `** 0.5`
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(eps);
    target.addcdiv_(exp_avg_[i], denom, -step_size);
    if (!fp32) param.copy_(target);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) p.param.mutable_grad() = at::Tensor();
}

std::vector<io::NamedTensor> AdamW::state_tensors() const {
  std::vector<io::NamedTensor> out;
  out.push_back({"step", at::scalar_tensor(step_, at::TensorOptions().dtype(at::kLong))});
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name;
    out.push_back({n + ".exp_avg", exp_avg_[i]});
    out.push_back({n + ".exp_avg_sq", exp_avg_sq_[i]});
    out.push_back({n + ".step", at::scalar_tensor(param_steps_[i], at::TensorOptions().dtype(at::kLong))});
    if (master_[i].defined()) out.push_back({n + ".master", master_[i]});
  }
  return out;
}

void AdamW::load_state(const std::map<std::string, at::Tensor>& state, const std::string& source) {
  std::set<std::string> expected;
  for (const auto& t : state_tensors()) expected.insert(t.name);
  for (const auto& [name, tensor] : state)
    if (!expected.count(name)) throw Error(source + ": unexpected optimizer state tensor " + name);
  auto get = [&](const std::string& name, at::IntArrayRef shape) -> const at::Tensor& {
    auto it = state.find(name);
    if (it == state.end()) throw Error(source + ": missing optimizer state tensor " + name);
    if (it->second.sizes() != shape)
      throw Error(source + ": optimizer state tensor " + name + " has shape " + io::shape_text(it->second.sizes()) +
                  ", expected " + io::shape_text(shape));
    return it->second;
  };
  auto get_step = [&](const std::string& name) {
    const at::Tensor& t = get(name, {});
    if (at::isFloatingType(t.scalar_type()) || t.item<int64_t>() < 0)
      throw Error(source + ": optimizer state tensor " + name + " must be a non-negative integer");
    return t.item<int64_t>();
  };
  // Validate everything before changing anything, so a bad file leaves the optimizer as it was.
  const int64_t step = get_step("step");
  std::vector<int64_t> steps;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name;
    get(n + ".exp_avg", params_[i].param.sizes());
    get(n + ".exp_avg_sq", params_[i].param.sizes());
    if (master_[i].defined()) get(n + ".master", params_[i].param.sizes());
    steps.push_back(get_step(n + ".step"));
  }
  torch::NoGradGuard no_grad;
  step_ = step;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name;
    exp_avg_[i].copy_(state.at(n + ".exp_avg"));
    exp_avg_sq_[i].copy_(state.at(n + ".exp_avg_sq"));
    if (master_[i].defined()) master_[i].copy_(state.at(n + ".master"));
    param_steps_[i] = steps[i];
  }
}

}  // namespace llmft::train
