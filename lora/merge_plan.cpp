#include "lora/merge_plan.h"

#include <algorithm>
#include <set>

#include "io/error.h"
#include "io/safetensors.h"
#include "io/shape_text.h"
#include "lora/lora_linear.h"
#include "lora/peft_adapter.h"
#include "model/load.h"
#include "model/tensor_table.h"

namespace llmft::lora {
namespace {
namespace fs = std::filesystem;

// PEFT's suffix rule, as inject_lora applies it: "q_proj" matches "model.layers.0.self_attn.q_proj".
bool matches(const std::string& path, const std::string& name) {
  return path == name || (path.size() > name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0 &&
                          path[path.size() - name.size() - 1] == '.');
}

std::string module_of(const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); }

}  // namespace

MergePlan plan_merge(const fs::path& base, const fs::path& adapter_dir) {
  MergePlan plan;
  plan.base = base;
  plan.gguf = base.extension() == ".gguf";
  plan.config = model::check_pretrained(base);  // every base tensor present with its table shape
  plan.adapter_dir = adapter_dir;
  plan.adapter = read_peft_adapter_config(adapter_dir);
  const io::SafetensorsFile file = io::SafetensorsFile::open(adapter_dir / kAdapterWeightsFile);
  const std::string where = file.path().string() + ": ";
  const std::string config_where = (adapter_dir / kAdapterConfigFile).string() + ": ";
  const double scaling = lora_scaling(plan.adapter.alpha, plan.adapter.rank, plan.adapter.use_rslora);
  const bool all_linear = plan.adapter.target_modules.size() == 1 && plan.adapter.target_modules[0] == "all-linear";

  std::set<std::string> used;  // adapter tensors the plan consumes
  auto require_shape = [&](const std::string& key, const std::vector<int64_t>& shape, const std::string& base_name) {
    const io::TensorInfo* info = file.find(key);
    if (!info) throw Error(where + "missing tensor " + key + " for the base's " + base_name);
    if (info->shape != shape)
      throw Error(where + "tensor " + key + " has shape " + io::shape_text(info->shape) + ", the base's " + base_name +
                  " needs " + io::shape_text(shape) + " (an adapter for another model?)");
    used.insert(key);
  };

  std::set<std::string> targets_hit, saved_hit;
  const bool tied = plan.config.tie_word_embeddings;
  for (const auto& t : model::expected_tensors(plan.config)) {
    const std::string module = module_of(t.name);
    const bool is_head = t.name == "lm_head.weight";
    // modules_to_save: each direct parameter of the module comes from the adapter.
    for (const auto& name : plan.adapter.modules_to_save) {
      if (!matches(module, name)) continue;
      saved_hit.insert(name);
      if (module == "model.embed_tokens" && tied &&
          std::find(plan.adapter.modules_to_save.begin(), plan.adapter.modules_to_save.end(), "lm_head") ==
              plan.adapter.modules_to_save.end())
        throw Error(config_where + "modules_to_save embed_tokens on a model with tied embeddings (lm_head not saved) "
                    "is not supported");
      TensorEdit edit;
      edit.kind = TensorEdit::Kind::Replace;
      edit.replacement_key = "base_model.model." + t.name;
      require_shape(edit.replacement_key, t.shape, t.name);
      plan.edits[t.name] = edit;
      if (is_head && tied) plan.untie_head = true;
    }
    if (plan.edits.count(t.name)) continue;
    // LoRA targets: the Linear weights ([out, in]); lm_head only when it has its own weight.
    const bool linear = t.shape.size() == 2 && t.name.ends_with(".weight") && t.name != "model.embed_tokens.weight" &&
                        !(is_head && tied);
    if (!linear) continue;
    bool targeted = false;
    if (all_linear) {
      targeted = module.starts_with("model.layers.");
    } else {
      for (const auto& name : plan.adapter.target_modules) {
        if (matches(module, name)) {
          targets_hit.insert(name);
          targeted = true;
        }
      }
    }
    if (!targeted) continue;
    TensorEdit edit;
    edit.lora_a_key = peft_key(module, "lora_A");
    edit.lora_b_key = peft_key(module, "lora_B");
    edit.scaling = scaling;
    require_shape(edit.lora_a_key, {plan.adapter.rank, t.shape[1]}, t.name);
    require_shape(edit.lora_b_key, {t.shape[0], plan.adapter.rank}, t.name);
    plan.edits[t.name] = edit;
    ++plan.lora_modules;
  }
  if (!all_linear) {
    for (const auto& name : plan.adapter.target_modules)
      if (!targets_hit.count(name))
        throw Error(config_where + "target_modules entry '" + name + "' matches no Linear of the base " + base.string());
  }
  for (const auto& name : plan.adapter.modules_to_save)
    if (!saved_hit.count(name))
      throw Error(config_where + "modules_to_save entry '" + name + "' matches no module of the base " + base.string());
  for (const auto& info : file.tensors())
    if (!used.count(info.name))
      throw Error(where + "tensor " + info.name + " matches no module of the base " + base.string() +
                  " (an adapter for another model?)");
  if (plan.lora_modules == 0) throw Error(config_where + "the adapter targets no Linear of the base " + base.string());
  if (plan.untie_head) plan.config.tie_word_embeddings = false;
  return plan;
}

}  // namespace llmft::lora
