#include "recipes/run_info.h"

#include <fstream>
#include <sstream>
#include <thread>

#include <torch/cuda.h>
#include <torch/version.h>

#include "recipes/recipe_config.h"

namespace llmft::recipes {
namespace fs = std::filesystem;
namespace {

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpuinfo_value(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(key)) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

uint64_t total_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::string git_revision(const fs::path& source_root) {
  if (source_root.empty()) return "unknown";
  const fs::path git = source_root / ".git";
  std::string head = first_line(git / "HEAD");
  if (head.empty()) return "unknown";
  if (!head.starts_with("ref: ")) return head;
  const std::string ref = head.substr(5);
  std::string loose = first_line(git / ref);
  if (!loose.empty()) return loose;
  std::ifstream packed(git / "packed-refs");
  std::string line;
  while (std::getline(packed, line)) {
    if (line.size() > 41 && line.compare(41, std::string::npos, ref) == 0) return line.substr(0, 40);
  }
  return "unknown";
}

nlohmann::json hardware_json(c10::Device device) {
  nlohmann::json j = {{"cpu", cpuinfo_value("model name")},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"torch_threads", at::get_num_threads()},
                      {"memory_bytes", total_memory_bytes()},
                      {"device", device.str()}};
  if (device.is_cuda()) j["cuda_device_count"] = torch::cuda::device_count();
  return j;
}

nlohmann::json run_info_json(const TrainingSetup& s, const RunContext& context) {
  nlohmann::json data = {{"train", {{"path", s.recipe.data.path}, {"sha256", s.train_data.content_sha256},
                                    {"examples", s.train_data.samples.size()}}}};
  if (s.eval_data) {
    data["eval"] = {{"path", s.recipe.data.eval_path.value_or(s.recipe.data.path)},
                    {"sha256", s.eval_data->content_sha256},
                    {"examples", s.eval_data->samples.size()}};
  }
  return {{"format", 1},
          {"command_line", context.command_line},
          {"recipe", recipe_to_json(s.recipe)},
          {"model_path", s.model_path.string()},
          {"versions", {{"llmft", context.llmft_version}, {"libtorch", TORCH_VERSION}}},
          {"git_revision", git_revision(context.source_root)},
          {"hardware", hardware_json(s.device)},
          {"data", data},
          {"parameters", {{"total", s.total_params}, {"trainable", s.trainable_params}}},
          {"steps", {{"total", s.plan.total_steps}, {"warmup", s.plan.warmup_steps},
                     {"per_epoch", s.plan.steps_per_epoch}}}};
}

}  // namespace llmft::recipes
