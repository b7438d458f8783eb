#include "lora/inject.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "io/error.h"
#include "lora/lora_linear.h"

namespace llmft::lora {

namespace {

constexpr const char* kAllLinear = "all-linear";
constexpr const char* kLayersPrefix = "model.layers.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PEFT's rule for a list of target names: the module's full name equals the key, or ends in ".key".
bool matches(const std::string& path, const std::string& target) {
  return path == target || ends_with(path, "." + target);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The public holder member that forward() calls for child `name` of `parent`: replace_module only
// swaps the registered child, so the holder must be pointed at the new module too.
model::Linear* holder_slot(torch::nn::Module& parent, const std::string& name) {
  if (auto* attn = dynamic_cast<model::AttentionImpl*>(&parent)) {
    if (name == "q_proj") return &attn->q_proj;
    if (name == "k_proj") return &attn->k_proj;
    if (name == "v_proj") return &attn->v_proj;
    if (name == "o_proj") return &attn->o_proj;
  } else if (auto* mlp = dynamic_cast<model::MLPImpl*>(&parent)) {
    if (name == "gate_proj") return &mlp->gate_proj;
    if (name == "up_proj") return &mlp->up_proj;
    if (name == "down_proj") return &mlp->down_proj;
  } else if (auto* lm = dynamic_cast<model::LlamaForCausalLMImpl*>(&parent)) {
    if (name == "lm_head") return &lm->lm_head;
  }
  return nullptr;
}

// A [r, in] as PEFT's reset_lora_parameters: kaiming_uniform_(a = sqrt(5)) gives the bound
// gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)), i.e. 1 / sqrt(in); gaussian is N(0, 1/r).
void init_lora_A(LoraLinearImpl& layer, const std::string& init, at::Generator& gen) {
  at::Tensor a = at::empty(layer.lora_A->weight.sizes(), at::TensorOptions().dtype(at::kFloat));
  if (init == "gaussian") {
    a.normal_(0.0, 1.0 / static_cast<double>(layer.rank()), gen);
  } else {
    const double neg_slope = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1.0 + neg_slope * neg_slope));
    const double bound = std::sqrt(3.0) * gain / std::sqrt(static_cast<double>(layer.in_features()));
    a.uniform_(-bound, bound, gen);
  }
  torch::NoGradGuard no_grad;
  layer.lora_A->weight.copy_(a);
}

}  // namespace

void validate(const LoraOptions& o) {
  if (o.rank <= 0) throw Error("lora: r must be a positive integer, got " + std::to_string(o.rank));
  if (!std::isfinite(o.alpha)) throw Error("lora: lora_alpha must be a finite number");
  if (!(o.dropout >= 0 && o.dropout < 1)) {
    throw Error("lora: lora_dropout must be in [0, 1), got " + std::to_string(o.dropout));
  }
  if (o.init != "default" && o.init != "gaussian") {
    throw Error("lora: init_lora_weights must be \"default\" or \"gaussian\", got \"" + o.init + "\"");
  }
  if (o.target_modules.empty()) throw Error("lora: target_modules is empty");
  const bool all_linear = std::find(o.target_modules.begin(), o.target_modules.end(), kAllLinear) !=
                          o.target_modules.end();
  if (all_linear && o.target_modules.size() != 1) {
    throw Error("lora: target_modules: \"all-linear\" cannot be combined with other names");
  }
  for (const auto& t : o.target_modules) {
    if (t.empty()) throw Error("lora: target_modules contains an empty name");
  }
}

std::vector<WrappedModule> lora_modules(model::LlamaForCausalLMImpl& model) {
  std::vector<WrappedModule> out;
  for (const auto& item : model.named_modules()) {
    if (auto* layer = dynamic_cast<LoraLinearImpl*>(item.value().get())) out.push_back({item.key(), layer});
  }
  return out;
}

InjectReport inject_lora(model::LlamaForCausalLMImpl& model, const LoraOptions& options) {
  validate(options);
  if (!lora_modules(model).empty()) throw Error("lora: the model already carries LoRA adapters");

  const bool all_linear = options.target_modules.front() == kAllLinear;
  const auto modules = model.named_modules();  // path -> module; the root is ""
  std::vector<std::string> selected;
  std::map<std::string, bool> target_used;
  for (const auto& t : options.target_modules) target_used[t] = false;
  for (const auto& item : modules) {
    if (!dynamic_cast<model::LinearImpl*>(item.value().get())) continue;
    const std::string& path = item.key();
    bool take = false;
    if (all_linear) {
      take = path.rfind(kLayersPrefix, 0) == 0;
    } else {
      for (const auto& t : options.target_modules) {
        if (matches(path, t)) take = target_used[t] = true;
      }
    }
    if (take) selected.push_back(path);
  }
  std::vector<std::string> unmatched;
  for (const auto& [t, used] : target_used) {
    if (!used && !(all_linear && !selected.empty())) unmatched.push_back(t);
  }
  if (!unmatched.empty()) {
    throw Error("lora: target_modules " + join(unmatched) +
                " match no Linear module in the model (Linear modules are named like "
                "model.layers.0.self_attn.q_proj, model.layers.0.mlp.down_proj)");
  }

  const double scaling = lora_scaling(options.alpha, options.rank, options.use_rslora);
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  for (const auto& path : selected) {
    const auto dot = path.rfind('.');
    const std::string parent_path = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string name = dot == std::string::npos ? path : path.substr(dot + 1);
    auto& parent = *modules[parent_path];
    auto& base = dynamic_cast<model::LinearImpl&>(*modules[path]);
    model::Linear* slot = holder_slot(parent, name);
    if (!slot) throw Error("lora: cannot wrap " + path + ": its parent module has no Linear member '" + name + "'");
    auto wrapped = std::make_shared<LoraLinearImpl>(base, options.rank, scaling, options.dropout);
    init_lora_A(*wrapped, options.init, gen);
    wrapped->train(parent.is_training());
    parent.replace_module(name, wrapped);
    *slot = model::Linear(std::static_pointer_cast<model::LinearImpl>(wrapped));
  }

  InjectReport report;
  report.wrapped = selected;
  for (const auto& name : options.modules_to_save) {
    if (matches("lm_head", name) && model.config().tie_word_embeddings) model.untie_output_head();
  }
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  for (auto& m : lora_modules(model)) {
    m.module->lora_A->weight.set_requires_grad(true);
    m.module->lora_B->weight.set_requires_grad(true);
  }
  for (auto& saved : saved_modules(model, options)) {
    for (auto& p : saved.module->parameters(/*recurse=*/false)) p.set_requires_grad(true);
  }
  for (const auto& p : model.parameters()) {
    report.total_params += p.numel();
    if (p.requires_grad()) report.trainable_params += p.numel();
  }
  return report;
}

std::vector<SavedModule> saved_modules(model::LlamaForCausalLMImpl& model, const LoraOptions& options) {
  std::vector<SavedModule> out;
  if (options.modules_to_save.empty()) return out;
  std::map<std::string, bool> used;
  for (const auto& name : options.modules_to_save) used[name] = false;
  for (const auto& item : model.named_modules()) {
    const std::string& path = item.key();
    if (path.empty() || dynamic_cast<LoraLinearImpl*>(item.value().get())) continue;
    bool take = false;
    for (const auto& name : options.modules_to_save) {
      if (matches(path, name)) take = used[name] = true;
    }
    if (take) out.push_back({path, item.value().get()});
  }
  std::vector<std::string> unmatched;
  for (const auto& [name, was_used] : used) {
    if (!was_used) unmatched.push_back(name);
  }
  if (!unmatched.empty()) {
    throw Error("lora: modules_to_save " + join(unmatched) +
                " match no module of the model, or name a module that also gets an adapter (e.g. lm_head, "
                "embed_tokens)");
  }
  return out;
}

std::vector<std::string> resolved_target_modules(const LoraOptions& options, const std::vector<std::string>& wrapped) {
  std::vector<std::string> out =
      (!options.target_modules.empty() && options.target_modules.front() == kAllLinear) ? wrapped
                                                                                      : options.target_modules;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace llmft::lora
