// llmft convert FILE.gguf --out DIR: a llama.cpp GGUF -> a Hugging Face model directory that
// transformers loads directly (config.json, safetensors, tokenizer.json, tokenizer_config.json with
// the chat template, generation_config.json). Tensors are dequantized in fp32 and cast once.
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "data/gguf_vocab.h"
#include "data/hf_tokenizer_export.h"
#include "recipes/model_export.h"
#include "io/atomic_file.h"
#include "io/dtype.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/hf_checkpoint.h"
#include "io/model_locator.h"
#include "model/gguf_import.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "model/tensor_table.h"

namespace llmft::cli {
namespace {
namespace fs = std::filesystem;

struct ConvertOptions {
  std::string input;
  std::string out;
  std::string dtype = "bf16";
  std::string max_shard_size = "5GB";
  bool force = false;
};

// "5GB", "500MB", "2GiB", "1000000" -> bytes.
uint64_t parse_size(const std::string& text) {
  std::size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    throw Error("--max-shard-size: '" + text + "' is not a size (e.g. 5GB, 500MB)");
  }
  const std::string unit = text.substr(end);
  double scale = 1;
  if (unit == "" || unit == "B") scale = 1;
  else if (unit == "KB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else throw Error("--max-shard-size: unknown unit '" + unit + "' in '" + text + "' (B, KB, MB, GB, KiB, MiB, GiB)");
  if (value <= 0) throw Error("--max-shard-size: '" + text + "' must be positive");
  return static_cast<uint64_t>(value * scale);
}

std::string hf_dtype_name(c10::ScalarType dtype) {
  if (dtype == at::kBFloat16) return "bfloat16";
  if (dtype == at::kHalf) return "float16";
  return "float32";
}

int run_convert(const ConvertOptions& options) {
  const fs::path input = io::resolve_model_path(options.input);
  if (input.extension() != ".gguf") throw Error(input.string() + ": convert expects a .gguf file");
  const c10::ScalarType dtype = io::parse_compute_dtype(options.dtype, "--dtype");
  const uint64_t max_shard_bytes = parse_size(options.max_shard_size);
  const fs::path out = options.out;
  if (fs::exists(out) && !fs::is_empty(out) && !options.force)
    throw Error(out.string() + ": output directory is not empty (use --force to write into it)");
  fs::create_directories(out);

  const io::GgufFile gguf = io::GgufFile::open(input);
  model::LlamaConfig config = model::config_from_gguf(gguf);
  config.torch_dtype = hf_dtype_name(dtype);
  const data::BpeVocab vocab = data::read_gguf_bpe_vocab(gguf);  // validates before any weight work

  // Checked against the architecture's table (all problems at once), then written in the table's
  // order (embedding, layers, norm, lm_head) rather than the file's.
  const std::vector<model::GgufTensorMapping> mappings = model::map_gguf_tensors(gguf);
  model::require_no_problems(input.string(), config, model::check_gguf_tensors(config, mappings));
  std::map<std::string, const model::GgufTensorMapping*> by_name;
  for (const auto& m : mappings) by_name.emplace(m.hf_name, &m);
  std::vector<io::NamedTensor> tensors;
  for (const auto& expected : model::expected_tensors(config)) {
    auto it = by_name.find(expected.name);
    if (it == by_name.end()) continue;  // only optional tensors can be absent after the check
    tensors.push_back({expected.name, model::load_gguf_tensor(gguf, *it->second, config, dtype)});
  }
  io::write_hf_checkpoint(out, tensors, max_shard_bytes, {{"format", "pt"}});

  io::write_file_atomically(out / "config.json", model::to_hf_config_json(config).dump(2) + "\n");
  recipes::write_tokenizer_files(out, input, config);

  int64_t params = 0;
  for (const auto& t : tensors) params += t.tensor.numel();
  std::cout << "converted " << input.filename().string() << " -> " << out.string() << ": "
            << model::architecture_name(config.architecture) << ", " << format_short_count(params) << " parameters, "
            << tensors.size() << " tensors in " << config.torch_dtype << ", vocabulary of " << vocab.tokens.size()
            << " tokens\n";
  return 0;
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand("convert", "Convert a llama.cpp GGUF file into a Hugging Face model directory");
  sub->add_option("input", options->input, "The .gguf file, or 'smollm2-135m' (the bundled default)")->required();
  sub->add_option("--out", options->out, "Output directory (created; must be empty unless --force)")->required();
  sub->add_option("--dtype", options->dtype, "Stored dtype: bf16 | fp16 | fp32")->capture_default_str();
  sub->add_option("--max-shard-size", options->max_shard_size, "Largest safetensors shard, e.g. 5GB")
      ->capture_default_str();
  sub->add_flag("--force", options->force, "Write into a non-empty output directory");
  sub->footer("Example:\n  llmft convert model.Q4_K_M.gguf --out model_hf --dtype bf16");
  set_runner(sub, [options]() { return run_convert(*options); });
}

}  // namespace llmft::cli
