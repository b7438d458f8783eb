#pragma once
// loss.svg: the training loss per optimizer step (and eval loss where measured) as a line chart that
// any browser shows, written at the end of a run from metrics.jsonl. No plotting library needed.
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

namespace llmft::train {

struct LossSeries {
  std::vector<std::pair<int64_t, double>> train;  // (step, loss)
  std::vector<std::pair<int64_t, double>> eval;   // (step, eval loss)
};

// Rows of metrics.jsonl -> series ("loss" rows into train, "eval_loss" rows into eval).
LossSeries loss_series_from_metrics(const std::filesystem::path& metrics_jsonl);

// Writes the SVG atomically. Non-finite points are left out.
void write_loss_svg(const std::filesystem::path& path, const LossSeries& series);

}  // namespace llmft::train
