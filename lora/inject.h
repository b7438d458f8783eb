#pragma once
// Wrap a model's target Linears in LoRA adapters and freeze everything else, as PEFT's
// get_peft_model(model, LoraConfig(...)) does for a causal LM.
#include <cstdint>
#include <string>
#include <vector>

#include "model/llama.h"

namespace llmft::lora {

// Field meanings follow PEFT's LoraConfig (r, lora_alpha, lora_dropout, target_modules,
// use_rslora, init_lora_weights).
struct LoraOptions {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  // Module-name suffixes as in PEFT: "q_proj" matches model.layers.N.self_attn.q_proj (the name
  // itself or any path ending in ".q_proj"); a full path matches only itself. The single entry
  // "all-linear" means every Linear inside model.layers (never lm_head), as PEFT expands it.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  bool use_rslora = false;
  std::string init = "default";  // "default": A kaiming-uniform(a = sqrt(5)), "gaussian": A ~ N(0, 1/r); B = 0
  uint64_t seed = 0;             // initialises every A, in module order, from one CPU generator
  // PEFT's modules_to_save: modules trained in full and saved with the adapter, matched like
  // target_modules ("lm_head", "embed_tokens"). A tied lm_head is untied first (it gets its own copy
  // of the embedding), as PEFT's copy of the module does.
  std::vector<std::string> modules_to_save;
};

struct InjectReport {
  std::vector<std::string> wrapped;  // module paths, model order (model.layers.0.self_attn.q_proj, ...)
  int64_t trainable_params = 0;      // adapter parameters (requires_grad)
  int64_t total_params = 0;          // every parameter, adapters included (PEFT's "all params")
};

// Throws llmft::Error naming the option at fault: r <= 0, lora_dropout outside [0, 1), an unknown
// init, no targets, a target that matches no Linear, or a model that already carries adapters.
void validate(const LoraOptions& options);

// Replaces each target Linear by a LoraLinear in place (same registered name, same base tensors),
// initialises the adapters, then sets requires_grad on the adapter parameters only.
InjectReport inject_lora(model::LlamaForCausalLMImpl& model, const LoraOptions& options);

struct WrappedModule {
  std::string path;  // HF module path, e.g. model.layers.0.self_attn.q_proj
  class LoraLinearImpl* module;
};
// The model's LoRA-wrapped Linears in model order; empty when none.
std::vector<WrappedModule> lora_modules(model::LlamaForCausalLMImpl& model);

struct SavedModule {
  std::string path;            // HF module path, e.g. lm_head or model.embed_tokens
  torch::nn::Module* module;   // its direct parameters (weight, bias) are trained and saved
};
// The modules options.modules_to_save selects, in model order; throws llmft::Error for a name that
// matches no module.
std::vector<SavedModule> saved_modules(model::LlamaForCausalLMImpl& model, const LoraOptions& options);

// PEFT's target_modules for adapter_config.json: the given suffixes, sorted, or for "all-linear"
// the full paths of the modules it selected, sorted (PEFT writes the expanded set).
std::vector<std::string> resolved_target_modules(const LoraOptions& options, const std::vector<std::string>& wrapped);

}  // namespace llmft::lora
