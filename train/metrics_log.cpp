#include "train/metrics_log.h"

#include <string>

#include "io/atomic_file.h"
#include "io/error.h"

namespace llmft::train {
namespace fs = std::filesystem;

std::vector<nlohmann::json> read_metrics(const fs::path& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object()) rows.push_back(std::move(row));
  }
  return rows;
}

MetricsLog::MetricsLog(fs::path path, std::optional<int64_t> resumed_step) : path_(std::move(path)) {
  if (resumed_step) {
    std::string kept;
    for (const auto& row : read_metrics(path_)) {
      if (row.value("step", int64_t{0}) <= *resumed_step) kept += row.dump() + "\n";
    }
    io::write_file_atomically(path_, kept);
    out_.open(path_, std::ios::app);
  } else {
    out_.open(path_, std::ios::trunc);
  }
  if (!out_) throw Error(path_.string() + ": cannot open metrics file for writing");
}

void MetricsLog::write(const nlohmann::json& row) {
  out_ << row.dump() << '\n';
  out_.flush();
  if (!out_) throw Error(path_.string() + ": write failed (disk full?)");
}

}  // namespace llmft::train
