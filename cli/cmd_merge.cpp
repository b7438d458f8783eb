// llmft merge --base MODEL --adapter DIR --out DIR: folds a PEFT LoRA adapter into the base weights
// (W' = W + s * B @ A in fp32, cast once; modules_to_save tensors replace the base's), writes a
// Hugging Face model directory, then checks the merged model against base + adapter and publishes
// it only when the two agree within --max-drift (docs/merge.md).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "io/atomic_file.h"
#include "io/dtype.h"
#include "io/error.h"
#include "io/model_locator.h"
#include "lora/merge_drift.h"
#include "lora/merge_output.h"
#include "lora/merge_plan.h"
#include "lora/merge_weights.h"
#include "model/hf_config.h"
#include "recipes/model_export.h"

namespace llmft::cli {
namespace {
namespace fs = std::filesystem;

struct MergeOptions {
  std::string base;
  std::string adapter;
  std::string out;
  std::string dtype;  // empty: the base's
  std::optional<double> max_drift;
  bool force = false;
};

std::string hf_dtype_name(c10::ScalarType dtype) {
  if (dtype == at::kBFloat16) return "bfloat16";
  if (dtype == at::kHalf) return "float16";
  return "float32";
}

std::string short_dtype_name(c10::ScalarType dtype) {
  if (dtype == at::kBFloat16) return "bf16";
  if (dtype == at::kHalf) return "fp16";
  return "fp32";
}

// The base's stored dtype (config.json's torch_dtype / dtype); bf16 for a GGUF base, whose
// (usually quantized) tensors have no HF dtype: what `llmft convert` writes by default.
c10::ScalarType default_dtype(const lora::MergePlan& plan) {
  if (plan.gguf) return at::kBFloat16;
  const std::string& name = plan.config.torch_dtype;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  return at::kFloat;
}

std::string scientific(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

// Removes "<out>.partial" when the merge fails before it is published or rejected.
struct PartialGuard {
  fs::path out;
  bool active = true;
  ~PartialGuard() {
    if (!active) return;
    std::error_code ec;
    fs::remove_all(lora::partial_dir(out), ec);
  }
};

int run_merge(const MergeOptions& options) {
  const fs::path base = io::resolve_model_path(options.base);
  const fs::path adapter = options.adapter;
  const fs::path out = options.out;
  if (!fs::is_directory(adapter)) throw Error(adapter.string() + ": --adapter must be a PEFT adapter directory");
  lora::check_output_target(out, options.force);
  if (fs::exists(out) && (fs::equivalent(out, base) || fs::equivalent(out, adapter)))
    throw Error(out.string() + ": --out must not be the base model or the adapter directory");

  // Everything is checked before any file is written.
  lora::MergePlan plan = lora::plan_merge(base, adapter);
  const c10::ScalarType dtype =
      options.dtype.empty() ? default_dtype(plan) : io::parse_compute_dtype(options.dtype, "--dtype");
  const double max_drift = options.max_drift.value_or(lora::default_max_drift(dtype));
  if (max_drift < 0) throw Error("--max-drift must not be negative");

  const uint64_t rss_before = lora::peak_rss_bytes();
  const fs::path partial = lora::begin_output(out);
  PartialGuard guard{out};
  const lora::MergeWriteReport report =
      lora::write_merged_weights(plan, partial, dtype, recipes::kDefaultMaxShardBytes);
  const uint64_t rss_after = lora::peak_rss_bytes();

  model::LlamaConfig config = plan.config;
  config.torch_dtype = hf_dtype_name(dtype);
  io::write_file_atomically(partial / "config.json", model::to_hf_config_json(config).dump(2) + "\n");
  recipes::write_tokenizer_files(partial, base, config);

  std::cout << "merged " << plan.lora_modules << " LoRA modules"
            << (plan.edits.size() > static_cast<std::size_t>(plan.lora_modules)
                    ? " and " + std::to_string(plan.edits.size() - plan.lora_modules) + " saved tensors"
                    : std::string())
            << (plan.untie_head ? " (lm_head untied)" : "") << ": " << format_short_count(report.parameters)
            << " parameters in " << short_dtype_name(dtype) << ", " << report.shard_files.size() << " shard"
            << (report.shard_files.size() == 1 ? "" : "s") << " (" << format_bytes(report.bytes) << ")\n";
  std::cout << "peak memory: " << format_bytes(rss_before) << " before the weights, " << format_bytes(rss_after)
            << " after writing them\n";

  const double drift = lora::merge_drift(base, adapter, partial);
  std::cout << "drift: max |logit difference| " << scientific(drift) << " between base + adapter and the merged model"
            << " (limit " << scientific(max_drift) << ", --max-drift)\n";
  guard.active = false;
  if (!(drift <= max_drift)) {
    const fs::path rejected = lora::reject_output(out);
    throw Error("merge drift " + scientific(drift) + " exceeds --max-drift " + scientific(max_drift) +
                "; the merged model was kept aside in " + rejected.string());
  }
  lora::publish_output(out);
  std::cout << "wrote " << out.string() << "\n";
  return 0;
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  CLI::App* sub = app.add_subcommand("merge", "Fold a LoRA adapter into the base weights");
  sub->add_option("--base", options->base, "Base model: HF directory, .gguf file, or 'smollm2-135m'")->required();
  sub->add_option("--adapter", options->adapter, "PEFT LoRA adapter directory (llmft train's output)")->required();
  sub->add_option("--out", options->out, "Output model directory (must be absent or empty unless --force)")
      ->required();
  sub->add_option("--dtype", options->dtype,
                  "Stored dtype: bf16 | fp16 | fp32 (default: the base's; bf16 for a GGUF base)");
  sub->add_option("--max-drift", options->max_drift,
                  "Largest accepted max |logit difference| against base + adapter (default: 1e-3 for fp32, "
                  "1.0 for bf16, 0.2 for fp16)");
  sub->add_flag("--force", options->force, "Replace a non-empty output directory");
  sub->footer("Example:\n  llmft merge --base path/to/model --adapter out/adapter --out merged");
  set_runner(sub, [options]() { return run_merge(*options); });
}

}  // namespace llmft::cli
