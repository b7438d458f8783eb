#pragma once
// metrics.jsonl: one JSON object per line, appended as training goes ({"step", "loss", "lr", ...} for
// optimizer steps, {"step", "eval_loss", ...} for evaluations). Each line is flushed when written,
// so a crash loses at most the line being written.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmft::train {

class MetricsLog {
 public:
  // Fresh run (resumed_step empty): starts the file anew. Resumed run: keeps the rows of steps
  // <= resumed_step and drops the rest (steps the interrupted run did after its last checkpoint),
  // so the file reads as one continuous run.
  MetricsLog(std::filesystem::path path, std::optional<int64_t> resumed_step);
  void write(const nlohmann::json& row);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Every well-formed row of a metrics file (a torn last line is skipped).
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path);

}  // namespace llmft::train
