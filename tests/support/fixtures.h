#pragma once
// Paths and files the CLI tests share: the fixture models the build generates, and what a run
// leaves in its output directory.
#include <filesystem>
#include <string>
#include <vector>

#include "train/metrics_log.h"

namespace llmft::test {

// A fixture model directory generated at build time (tests/fixtures), e.g. fixture("tiny_chat").
inline std::filesystem::path fixture(const std::string& name) { return std::filesystem::path(LLMFT_FIXTURE_DIR) / name; }

// The eval_loss of every evaluation row of a run's metrics.jsonl, in order.
inline std::vector<double> eval_losses(const std::filesystem::path& metrics) {
  std::vector<double> out;
  for (const auto& row : llmft::train::read_metrics(metrics))
    if (row.contains("eval_loss")) out.push_back(row["eval_loss"].get<double>());
  return out;
}

}  // namespace llmft::test
