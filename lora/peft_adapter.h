#pragma once
// LoRA adapters in PEFT's on-disk layout, so PeftModel.from_pretrained reads what llmft writes and
// llmft reads what PEFT writes:
//   <dir>/adapter_model.safetensors  base_model.model.<module path>.lora_A.weight  [r, in]  F32
//                                    base_model.model.<module path>.lora_B.weight  [out, r] F32
//   <dir>/adapter_config.json        LoraConfig as peft 0.21.2's save_pretrained writes it
#include <filesystem>
#include <string>

#include "lora/inject.h"
#include "model/llama.h"

namespace llmft::lora {

constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";
constexpr const char* kAdapterConfigFile = "adapter_config.json";

// "base_model.model." + module_path + ".lora_A.weight" (which = "lora_A" or "lora_B").
std::string peft_key(const std::string& module_path, const std::string& which);

// Writes both files atomically (each is replaced whole or not at all), creating `dir`.
// Throws llmft::Error when the model carries no adapters.
void save_peft_adapter(const std::filesystem::path& dir, model::LlamaForCausalLMImpl& model,
                       const LoraOptions& options, const std::string& base_model_name_or_path);

// adapter_config.json -> options (init "default", seed 0: the weights come from the file). Throws
// llmft::Error naming the file and key for a non-LoRA config or a feature llmft does not implement
// (DoRA, bias training, fan_in_fan_out, rank/alpha patterns, regex targets, modules_to_save).
LoraOptions read_peft_adapter_config(const std::filesystem::path& dir);

// Reads adapter_config.json and adapter_model.safetensors into `model`. A model without adapters
// gets them injected from the config first; one with adapters must match the config's rank and
// scaling. Every wrapped module needs both tensors with the right shapes and every tensor in the
// file needs a wrapped module: any violation throws llmft::Error naming the file and tensor.
LoraOptions load_peft_adapter(const std::filesystem::path& dir, model::LlamaForCausalLMImpl& model);

}  // namespace llmft::lora
