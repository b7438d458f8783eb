#include "lora/adapted_model.h"

#include "io/model_locator.h"
#include "lora/peft_adapter.h"

namespace llmft::lora {

AdaptedModel load_adapted_model(const std::string& model_path, const std::optional<std::filesystem::path>& adapter_dir,
                                c10::ScalarType dtype, c10::Device device) {
  model::LoadedModel loaded = model::load_pretrained(io::resolve_model_path(model_path), dtype, device);
  AdaptedModel out{loaded.config, loaded.model, std::nullopt};
  if (adapter_dir) out.adapter = load_peft_adapter(*adapter_dir, *out.model);
  out.model->eval();
  return out;
}

}  // namespace llmft::lora
