// GGUF file -> LoadedModel: config from metadata, every tensor checked against the expected table
// (all problems in one error), then each dequantized straight into its parameter (peak extra
// memory: one tensor in fp32).
#include <map>

#include "io/error.h"
#include "io/gguf.h"
#include "model/gguf_import.h"
#include "model/load.h"
#include "model/tensor_table.h"

namespace llmft::model {

std::vector<std::string> check_gguf_tensors(const LlamaConfig& config,
                                            const std::vector<GgufTensorMapping>& mappings) {
  std::vector<AvailableTensor> available;
  for (const GgufTensorMapping& m : mappings) {
    const std::string type = io::ggml_type_name(m.info->type);
    // Quantized types all dequantize to floating point; an unsupported one fails by name at load.
    available.push_back({m.hf_name, m.info->torch_shape(), m.info->name + " (" + type + ")", type, true});
  }
  return check_tensors(config, available);
}

LoadedModel load_gguf(const std::filesystem::path& path, c10::ScalarType dtype, c10::Device device) {
  const io::GgufFile gguf = io::GgufFile::open(path);
  LlamaConfig config = config_from_gguf(gguf);
  const std::vector<GgufTensorMapping> mappings = map_gguf_tensors(gguf);
  require_no_problems(path.string(), config, check_gguf_tensors(config, mappings));

  LlamaForCausalLM model(config, dtype, device);
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters(/*recurse=*/true);
  for (const GgufTensorMapping& m : mappings) {
    if (config.tie_word_embeddings && m.hf_name == "lm_head.weight") continue;
    at::Tensor* param = params.find(m.hf_name);
    if (param == nullptr) throw Error(path.string() + ": model has no parameter " + m.hf_name);
    param->copy_(load_gguf_tensor(gguf, m, config, param->scalar_type()));
  }
  return LoadedModel{std::move(config), std::move(model)};
}

}  // namespace llmft::model
