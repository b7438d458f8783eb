// llmft inspect PATH: what is inside a checkpoint — architecture, parameter counts by group,
// dtypes, the tensor table (name, shape, dtype, shard) and every inconsistency with the
// architecture's expected tensor table. Any inconsistency is also an error line on stderr (exit 2).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/format.h"
#include "io/shape_text.h"
#include "cli/inspect_gguf.h"
#include "io/model_locator.h"
#include "io/error.h"
#include "io/hf_checkpoint.h"
#include "model/hf_config.h"
#include "model/load.h"

namespace llmft::cli {
namespace {
namespace fs = std::filesystem;

struct InspectOptions {
  std::string path;
};

// Parameter groups by HF key pattern; the order is the display order.
std::string parameter_group(const std::string& name) {
  if (name.find("embed_tokens") != std::string::npos) return "embeddings";
  if (name.find("self_attn") != std::string::npos) return "attention";
  if (name.find(".mlp.") != std::string::npos) return "mlp";
  if (name.find("norm") != std::string::npos) return "norms";
  if (name.rfind("lm_head", 0) == 0) return "lm_head";
  return "other";
}

std::string rope_summary(const model::LlamaConfig& c) {
  std::string text = "theta " + std::to_string(static_cast<int64_t>(c.rope_theta));
  switch (c.rope_scaling.rope_type) {
    case model::RopeScalingType::None: break;
    case model::RopeScalingType::Linear:
      text += ", linear scaling x" + std::to_string(c.rope_scaling.factor);
      break;
    case model::RopeScalingType::Llama3:
      text += ", llama3 scaling x" + std::to_string(c.rope_scaling.factor);
      break;
  }
  return text;
}

void print_config(const model::LlamaConfig& c, const fs::path& config_path) {
  std::cout << "architecture: " << model::architecture_name(c.architecture) << "  (" << config_path.string()
            << ")\n"
            << "  hidden_size " << c.hidden_size << ", layers " << c.num_hidden_layers << ", heads "
            << c.num_attention_heads << " (kv " << c.num_key_value_heads << "), head_dim " << c.head_dim
            << ", intermediate " << c.intermediate_size << ", vocab " << c.vocab_size << "\n"
            << "  rope " << rope_summary(c) << ", max positions " << c.max_position_embeddings
            << ", tied embeddings " << (c.tie_word_embeddings ? "yes" : "no")
            << (c.sliding_window ? ", sliding window " + std::to_string(*c.sliding_window) : "")
            << ", stored dtype " << c.torch_dtype << "\n";
}

int run_inspect(const InspectOptions& options) {
  const fs::path path = io::resolve_model_path(options.path);
  if (path.extension() == ".gguf") return inspect_gguf(path);
  const io::HfCheckpoint checkpoint = io::HfCheckpoint::open(path);

  std::cout << "checkpoint: " << path.string() << "\n";
  std::cout << "format: safetensors, " << checkpoint.shards().size() << " file(s)\n";

  const fs::path config_path = model::config_json_beside(path);
  std::optional<model::LlamaConfig> config;
  if (fs::exists(config_path)) {
    config = model::load_hf_config(config_path);
    print_config(*config, config_path);
  } else {
    std::cout << "architecture: unknown (no config.json beside the weights)\n";
  }

  // Parameter counts by group and bytes by dtype.
  const std::vector<std::string> names = checkpoint.names();
  std::map<std::string, int64_t> group_params;
  std::map<std::string, std::pair<int64_t, uint64_t>> dtype_usage;  // dtype -> (tensors, bytes)
  int64_t total_params = 0;
  for (const auto& name : names) {
    const io::TensorInfo& info = checkpoint.info(name);
    group_params[parameter_group(name)] += info.numel();
    total_params += info.numel();
    auto& usage = dtype_usage[std::string(io::dtype_name(info.dtype))];
    usage.first += 1;
    usage.second += info.nbytes();
  }
  std::cout << "parameters: " << format_count(total_params) << " (" << format_short_count(total_params) << ")\n";
  std::vector<std::vector<std::string>> group_rows;
  for (const char* group : {"embeddings", "attention", "mlp", "norms", "lm_head", "other"}) {
    auto it = group_params.find(group);
    if (it == group_params.end()) continue;
    char share[16];
    std::snprintf(share, sizeof share, "%.1f%%", 100.0 * static_cast<double>(it->second) /
                                                     static_cast<double>(std::max<int64_t>(total_params, 1)));
    group_rows.push_back({group, format_count(it->second), share});
  }
  std::cout << format_table(group_rows);
  std::cout << "dtypes:\n";
  std::vector<std::vector<std::string>> dtype_rows;
  for (const auto& [dtype, usage] : dtype_usage)
    dtype_rows.push_back({dtype, std::to_string(usage.first) + " tensors", format_bytes(usage.second)});
  std::cout << format_table(dtype_rows);

  std::cout << "tensors (" << names.size() << "):\n";
  std::vector<std::vector<std::string>> rows = {{"name", "shape", "dtype", "file"}};
  for (const auto& name : names) {
    const io::TensorInfo& info = checkpoint.info(name);
    rows.push_back({name, io::shape_text(info.shape), std::string(io::dtype_name(info.dtype)),
                    checkpoint.shard_of(name).filename().string()});
  }
  std::cout << format_table(rows);

  if (!config) return 0;
  const std::vector<std::string> problems = model::check_checkpoint(*config, checkpoint);
  if (problems.empty()) {
    std::cout << "consistency: OK (every tensor matches " << model::architecture_name(config->architecture)
              << "'s expected table)\n";
    return 0;
  }
  std::cout << "consistency: " << problems.size() << " problem(s)\n";
  std::cout.flush();
  for (const auto& problem : problems) std::fprintf(stderr, "llmft: error: %s\n", problem.c_str());
  return 2;
}
}  // namespace

void add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Show what is inside a checkpoint");
  sub->add_option("path", options->path,
                  "Model directory, .safetensors or .gguf file, or '" + std::string(io::kDefaultModelAlias) +
                      "' (the bundled SmolLM2-135M-Instruct GGUF)")
      ->required();
  sub->footer(
      "Examples:\n  llmft inspect path/to/model_dir\n  llmft inspect model-00001-of-00002.safetensors\n"
      "  llmft inspect smollm2-135m");
  set_runner(sub, [options]() { return run_inspect(*options); });
}

}  // namespace llmft::cli
