#pragma once
// run.json: what a run was, so it can be reproduced and compared: the resolved recipe, the command
// line, llmft/libtorch versions, the source revision, the hardware and the data files' hashes.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recipes/train_setup.h"

namespace llmft::recipes {

struct RunContext {
  std::vector<std::string> command_line;
  std::string llmft_version;
  std::filesystem::path source_root;  // where .git may be found; empty = unknown
};

nlohmann::json run_info_json(const TrainingSetup& setup, const RunContext& context);

// The commit hash of the checkout at `source_root` read from .git (HEAD, loose or packed refs), or
// "unknown". No git binary needed.
std::string git_revision(const std::filesystem::path& source_root);

// "Intel(R) Xeon(R) ... , 2 threads, 24.0 GiB" and the CUDA device name when used.
nlohmann::json hardware_json(c10::Device device);

}  // namespace llmft::recipes
