#include "model/load.h"
#include "io/shape_text.h"

#include <map>

#include "io/error.h"
#include "model/hf_config.h"
#include "model/tensor_table.h"

namespace llmft::model {
namespace {

// Older conversions saved the rotary inverse frequencies; they are derived from the config, so
// they are neither needed nor an error (transformers ignores them too).
bool is_derived_buffer(const std::string& name) {
  const std::string suffix = "rotary_emb.inv_freq";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_floating(io::DType dtype) {
  return dtype == io::DType::F64 || dtype == io::DType::F32 || dtype == io::DType::F16 || dtype == io::DType::BF16;
}

// The tensors to copy: expected ones present in the checkpoint, except a tied lm_head (the
// embedding is the one copy).
bool loads_from_checkpoint(const LlamaConfig& config, const ExpectedTensor& t) {
  return !(config.tie_word_embeddings && t.name == "lm_head.weight");
}

void require_matching(const LlamaConfig& config, const io::HfCheckpoint& checkpoint) {
  require_no_problems(checkpoint.root().string(), config, check_checkpoint(config, checkpoint));
}

// Copies every table tensor into its parameter; `checkpoint` must already have passed
// check_checkpoint for the model's config.
void copy_checked_weights(LlamaForCausalLMImpl& model, const io::HfCheckpoint& checkpoint) {
  const LlamaConfig& config = model.config();
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters(/*recurse=*/true);
  for (const ExpectedTensor& t : expected_tensors(config)) {
    if (!loads_from_checkpoint(config, t) || !checkpoint.contains(t.name)) continue;
    at::Tensor* param = params.find(t.name);
    if (param == nullptr) throw Error("model has no parameter " + t.name + " (expected by the tensor table)");
    // copy_ converts dtype and device from the read-only mmap view; no full second copy is made.
    param->copy_(checkpoint.tensor(t.name));
  }
}

}  // namespace

std::vector<std::string> check_tensors(const LlamaConfig& config, const std::vector<AvailableTensor>& available) {
  std::vector<std::string> problems;
  std::map<std::string, const ExpectedTensor*> expected;
  const std::vector<ExpectedTensor> table = expected_tensors(config);
  for (const ExpectedTensor& t : table) expected[t.name] = &t;
  std::map<std::string, const AvailableTensor*> present;
  for (const AvailableTensor& a : available) present[a.name] = &a;

  for (const ExpectedTensor& t : table) {
    if (present.count(t.name)) continue;
    if (!t.optional) problems.push_back("missing tensor " + t.name + " " + io::shape_text(t.shape));
  }
  for (const AvailableTensor& a : available) {
    const std::string where = " in " + a.location;
    auto it = expected.find(a.name);
    if (it == expected.end()) {
      if (!is_derived_buffer(a.name)) problems.push_back("unexpected tensor " + a.name + where);
      continue;
    }
    if (a.shape != it->second->shape)
      problems.push_back("tensor " + a.name + where + " has shape " + io::shape_text(a.shape) + ", expected " +
                         io::shape_text(it->second->shape));
    if (!a.floating)
      problems.push_back("tensor " + a.name + where + " has dtype " + a.dtype_name +
                         ", expected a floating-point type");
  }
  return problems;
}

std::vector<std::string> check_checkpoint(const LlamaConfig& config, const io::HfCheckpoint& checkpoint) {
  std::vector<AvailableTensor> available;
  for (const std::string& name : checkpoint.names()) {
    const io::TensorInfo& info = checkpoint.info(name);
    available.push_back({name, info.shape, checkpoint.shard_of(name).filename().string(),
                         std::string(io::dtype_name(info.dtype)), is_floating(info.dtype)});
  }
  return check_tensors(config, available);
}

void require_no_problems(const std::string& source, const LlamaConfig& config,
                         const std::vector<std::string>& problems) {
  if (problems.empty()) return;
  // One problem stays one line; several are listed so a user fixes them all in one go.
  if (problems.size() == 1) throw Error(source + ": " + problems.front());
  std::string message = source + ": checkpoint does not match the " + architecture_name(config.architecture) +
                        " config (" + std::to_string(problems.size()) + " problems):";
  for (const std::string& p : problems) message += "\n  " + p;
  throw Error(message);
}

void load_weights(LlamaForCausalLMImpl& model, const io::HfCheckpoint& checkpoint) {
  require_matching(model.config(), checkpoint);
  copy_checked_weights(model, checkpoint);
}

std::filesystem::path config_json_beside(const std::filesystem::path& weights) {
  const std::filesystem::path dir = std::filesystem::is_directory(weights) ? weights : weights.parent_path();
  return (dir.empty() ? std::filesystem::path(".") : dir) / "config.json";
}

LlamaConfig check_pretrained(const std::filesystem::path& path) {
  if (path.extension() == ".gguf") {
    const io::GgufFile gguf = io::GgufFile::open(path);
    LlamaConfig config = config_from_gguf(gguf);
    require_no_problems(path.string(), config, check_gguf_tensors(config, map_gguf_tensors(gguf)));
    return config;
  }
  const std::filesystem::path config_path = config_json_beside(path);
  if (!std::filesystem::exists(config_path))
    throw Error(config_path.string() + ": config.json not found (it must sit beside the weights)");
  LlamaConfig config = load_hf_config(config_path);
  require_matching(config, io::HfCheckpoint::open(path));
  return config;
}

LoadedModel load_pretrained(const std::filesystem::path& path, c10::ScalarType dtype, c10::Device device) {
  if (path.extension() == ".gguf") return load_gguf(path, dtype, device);
  const std::filesystem::path config_path = config_json_beside(path);
  if (!std::filesystem::exists(config_path))
    throw Error(config_path.string() + ": config.json not found (it must sit beside the weights)");
  LlamaConfig config = load_hf_config(config_path);

  const io::HfCheckpoint checkpoint = io::HfCheckpoint::open(path);
  require_matching(config, checkpoint);  // before allocating the model
  LlamaForCausalLM model(config, dtype, device);
  copy_checked_weights(*model, checkpoint);
  return LoadedModel{std::move(config), std::move(model)};
}

}  // namespace llmft::model
