#pragma once
// `llmft train`: recipe -> setup -> (dry run | training loop with evaluation, checkpoints, resume,
// signals, metrics and progress) -> the adapter (or full model) in output.dir.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "recipes/run_info.h"

namespace llmft::recipes {

struct TrainCommand {
  std::filesystem::path recipe_path;
  std::vector<std::string> overrides;
  bool print_config = false;
  bool dry_run = false;
  // Set: resume. Empty string: the newest complete checkpoint in output.dir; else that directory.
  std::optional<std::string> resume;
  // --nproc: how many processes the run has (the launcher starts them; --dry-run sizes the plan
  // and per-process memory by it).
  int nproc = 1;
  RunContext context;
};

// Returns the process exit status: 0 done, 130/143 stopped by SIGINT/SIGTERM after saving.
// Throws llmft::Error for anything wrong with the recipe, model, data or output, and (after saving a
// checkpoint) when more than train.max_nonfinite_steps steps had a non-finite loss or gradient norm.
int run_train_command(const TrainCommand& command);

}  // namespace llmft::recipes
