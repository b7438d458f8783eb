#pragma once
// A base model with an optional PEFT adapter applied on top (not merged): what `llmft eval` and
// `llmft generate` run, and the reference `llmft merge` checks its result against.
#include <filesystem>
#include <optional>

#include "lora/inject.h"
#include "model/load.h"

namespace llmft::lora {

struct AdaptedModel {
  model::LlamaConfig config;
  model::LlamaForCausalLM model{nullptr};
  std::optional<LoraOptions> adapter;  // the adapter's config when one was applied
};

// model_path: anything model::load_pretrained takes (after io::resolve_model_path, so the alias
// smollm2-135m works). adapter_dir: a PEFT adapter directory, or nullopt. The model is in eval mode.
AdaptedModel load_adapted_model(const std::string& model_path, const std::optional<std::filesystem::path>& adapter_dir,
                                c10::ScalarType dtype, c10::Device device);

}  // namespace llmft::lora
