#include "lora/peft_adapter.h"
#include "io/shape_text.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "lora/lora_linear.h"

namespace llmft::lora {

namespace {

using Json = nlohmann::json;

// The PEFT release whose adapter_config.json layout this reproduces key for key. PEFT reads the
// value only to warn when a file comes from a newer release than the one installed.
constexpr const char* kPeftFormatVersion = "0.21.2";

// lora_alpha is an int in PEFT's LoraConfig: write 16, not 16.0, when it is whole.
Json number(double v) {
  if (std::nearbyint(v) == v && std::fabs(v) < 1e15) return Json(static_cast<int64_t>(v));
  return Json(v);
}

// Every key peft 0.21.2's LoraConfig.save_pretrained writes, with PEFT's defaults for the features
// llmft does not use (nlohmann's object is sorted, as PEFT's file is).
Json adapter_config(const LoraOptions& o, const std::vector<std::string>& targets, const std::string& base) {
  Json c = Json::object();
  c["alora_invocation_tokens"] = nullptr;
  c["alpha_pattern"] = Json::object();
  c["arrow_config"] = nullptr;
  c["auto_mapping"] = nullptr;
  c["base_model_name_or_path"] = base;
  c["bias"] = "none";
  c["corda_config"] = nullptr;
  c["ensure_weight_tying"] = false;
  c["eva_config"] = nullptr;
  c["exclude_modules"] = nullptr;
  c["fan_in_fan_out"] = false;
  c["inference_mode"] = true;
  c["init_lora_weights"] = o.init == "gaussian" ? Json("gaussian") : Json(true);
  c["kasa_config"] = nullptr;
  c["layer_replication"] = nullptr;
  c["layers_pattern"] = nullptr;
  c["layers_to_transform"] = nullptr;
  c["loftq_config"] = Json::object();
  c["lora_alpha"] = number(o.alpha);
  c["lora_bias"] = false;
  c["lora_dropout"] = o.dropout;
  c["lora_ga_config"] = nullptr;
  c["megatron_config"] = nullptr;
  c["megatron_core"] = "megatron.core";
  c["modules_to_save"] = o.modules_to_save.empty() ? Json(nullptr) : Json(o.modules_to_save);
  c["monteclora_config"] = nullptr;
  c["peft_type"] = "LORA";
  c["peft_version"] = kPeftFormatVersion;
  c["qalora_group_size"] = 16;
  c["r"] = o.rank;
  c["rank_pattern"] = Json::object();
  c["revision"] = nullptr;
  c["target_modules"] = targets;
  c["target_parameters"] = nullptr;
  c["task_type"] = "CAUSAL_LM";
  c["trainable_token_indices"] = nullptr;
  c["use_bdlora"] = nullptr;
  c["use_dora"] = false;
  c["use_qalora"] = false;
  c["use_rslora"] = o.use_rslora;
  c["velora_config"] = nullptr;
  return c;
}

bool is_unset(const Json& c, const char* key) {
  if (!c.contains(key)) return true;
  const Json& v = c[key];
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || ((v.is_object() || v.is_array()) && v.empty());
}

}  // namespace

std::string peft_key(const std::string& module_path, const std::string& which) {
  return "base_model.model." + module_path + "." + which + ".weight";
}

void save_peft_adapter(const std::filesystem::path& dir, model::LlamaForCausalLMImpl& model,
                       const LoraOptions& options, const std::string& base_model_name_or_path) {
  const auto modules = lora_modules(model);
  if (modules.empty()) throw Error("save adapter to " + dir.string() + ": the model carries no LoRA adapters");
  std::vector<io::NamedTensor> tensors;
  std::vector<std::string> wrapped;
  for (const auto& m : modules) {
    tensors.push_back({peft_key(m.path, "lora_A"), m.module->lora_A->weight.detach()});
    tensors.push_back({peft_key(m.path, "lora_B"), m.module->lora_B->weight.detach()});
    wrapped.push_back(m.path);
  }
  // PEFT stores a saved module's trained copy under the module's own name (the wrapper's
  // "modules_to_save.default." part is dropped on save and restored on load).
  for (const auto& saved : saved_modules(model, options)) {
    for (const auto& p : saved.module->named_parameters(/*recurse=*/false)) {
      tensors.push_back({"base_model.model." + saved.path + "." + p.key(), p.value().detach()});
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("save adapter: cannot create directory " + dir.string() + ": " + ec.message());
  io::write_safetensors(dir / kAdapterWeightsFile, tensors, {{"format", "pt"}});
  const Json config = adapter_config(options, resolved_target_modules(options, wrapped), base_model_name_or_path);
  io::write_file_atomically(dir / kAdapterConfigFile, config.dump(2) + "\n");
}

LoraOptions read_peft_adapter_config(const std::filesystem::path& dir) {
  const auto path = dir / kAdapterConfigFile;
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open the adapter config");
  Json c;
  try {
    c = Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
  const std::string where = path.string() + ": ";
  if (!c.is_object()) throw Error(where + "not a JSON object");
  if (!c.contains("peft_type") || c["peft_type"] != "LORA") {
    throw Error(where + "peft_type must be \"LORA\", got " + (c.contains("peft_type") ? c["peft_type"].dump() : "nothing"));
  }
  LoraOptions o;
  o.seed = 0;
  try {
    if (!c.contains("r") || !c["r"].is_number_integer()) throw Error(where + "r must be an integer");
    o.rank = c["r"].get<int64_t>();
    if (!c.contains("lora_alpha") || !c["lora_alpha"].is_number()) throw Error(where + "lora_alpha must be a number");
    o.alpha = c["lora_alpha"].get<double>();
    o.dropout = c.value("lora_dropout", 0.0);
    o.use_rslora = c.value("use_rslora", false);
    if (c.contains("init_lora_weights") && c["init_lora_weights"] == "gaussian") o.init = "gaussian";
  } catch (const Json::exception& e) {
    throw Error(where + "bad value: " + e.what());
  }
  if (!c.contains("target_modules")) throw Error(where + "target_modules is missing");
  const Json& t = c["target_modules"];
  if (t.is_string()) {
    if (t != "all-linear") throw Error(where + "target_modules " + t.dump() + " is a regex; llmft takes a list of names");
    o.target_modules = {"all-linear"};
  } else if (t.is_array() && !t.empty()) {
    o.target_modules.clear();
    for (const auto& name : t) {
      if (!name.is_string()) throw Error(where + "target_modules must hold strings, got " + name.dump());
      o.target_modules.push_back(name.get<std::string>());
    }
  } else {
    throw Error(where + "target_modules must be a non-empty list of names");
  }
  if (!is_unset(c, "modules_to_save")) {
    if (!c["modules_to_save"].is_array()) throw Error(where + "modules_to_save must be a list of module names");
    for (const auto& name : c["modules_to_save"]) {
      if (!name.is_string()) throw Error(where + "modules_to_save must hold strings, got " + name.dump());
      o.modules_to_save.push_back(name.get<std::string>());
    }
  }
  if (c.contains("bias") && c["bias"] != "none") throw Error(where + "bias " + c["bias"].dump() + " is not supported (only \"none\")");
  for (const char* key : {"use_dora", "fan_in_fan_out", "lora_bias", "rank_pattern", "alpha_pattern",
                          "layers_to_transform", "layer_replication", "trainable_token_indices",
                          "target_parameters", "exclude_modules"}) {
    if (!is_unset(c, key)) throw Error(where + key + " = " + c[key].dump() + " is not supported");
  }
  try {
    validate(o);
  } catch (const Error& e) {
    throw Error(where + e.what());
  }
  return o;
}

LoraOptions load_peft_adapter(const std::filesystem::path& dir, model::LlamaForCausalLMImpl& model) {
  const LoraOptions options = read_peft_adapter_config(dir);
  const auto config_path = (dir / kAdapterConfigFile).string();
  if (lora_modules(model).empty()) {
    try {
      inject_lora(model, options);
    } catch (const Error& e) {
      throw Error(config_path + ": " + e.what());
    }
  }
  const double scaling = lora_scaling(options.alpha, options.rank, options.use_rslora);
  const auto modules = lora_modules(model);
  for (const auto& m : modules) {
    if (m.module->rank() != options.rank || std::fabs(m.module->scaling() - scaling) > 1e-12 * std::fabs(scaling)) {
      throw Error(config_path + ": r = " + std::to_string(options.rank) + ", scaling " + std::to_string(scaling) +
                  " differ from the model's adapter on " + m.path + " (r = " + std::to_string(m.module->rank()) +
                  ", scaling " + std::to_string(m.module->scaling()) + ")");
    }
  }

  const auto file = io::SafetensorsFile::open(dir / kAdapterWeightsFile);
  const std::string where = file.path().string() + ": ";
  std::set<std::string> expected;
  for (const auto& m : modules) {
    for (const char* which : {"lora_A", "lora_B"}) {
      const std::string key = peft_key(m.path, which);
      expected.insert(key);
      const io::TensorInfo* info = file.find(key);
      if (!info) throw Error(where + "missing tensor " + key);
      at::Tensor& param = std::string(which) == "lora_A" ? m.module->lora_A->weight : m.module->lora_B->weight;
      if (info->shape != param.sizes().vec()) {
        throw Error(where + "tensor " + key + " has shape " + io::shape_text(info->shape) + ", the model expects " +
                    io::shape_text(param.sizes()));
      }
    }
  }
  std::vector<std::pair<std::string, at::Tensor>> saved_params;  // (key, parameter)
  for (const auto& saved : saved_modules(model, options)) {
    for (const auto& p : saved.module->named_parameters(/*recurse=*/false)) {
      const std::string key = "base_model.model." + saved.path + "." + p.key();
      const io::TensorInfo* info = file.find(key);
      if (!info) throw Error(where + "missing tensor " + key + " (modules_to_save)");
      if (info->shape != p.value().sizes().vec()) {
        throw Error(where + "tensor " + key + " has shape " + io::shape_text(info->shape) + ", the model expects " +
                    io::shape_text(p.value().sizes()));
      }
      expected.insert(key);
      saved_params.emplace_back(key, p.value());
    }
  }
  for (const auto& info : file.tensors()) {
    if (!expected.count(info.name)) throw Error(where + "tensor " + info.name + " matches no LoRA module of the model");
  }
  torch::NoGradGuard no_grad;
  for (auto& [key, param] : saved_params) param.copy_(file.tensor(key).to(param.scalar_type()));
  for (const auto& m : modules) {
    m.module->lora_A->weight.copy_(file.tensor(peft_key(m.path, "lora_A")).to(at::kFloat));
    m.module->lora_B->weight.copy_(file.tensor(peft_key(m.path, "lora_B")).to(at::kFloat));
  }
  return options;
}

}  // namespace llmft::lora
