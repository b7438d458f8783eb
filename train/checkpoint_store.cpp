#include "train/checkpoint_store.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"

namespace llmft::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kPartialSuffix = ".partial";

void fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(path.string() + ": cannot open for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(path.string() + ": fsync failed (disk full or I/O error?)");
}

std::string marker_text(const fs::path& dir, int64_t step) {
  nlohmann::json files = nlohmann::json::object();
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const auto& path : entries) {
    if (!fs::is_regular_file(path)) throw Error(path.string() + ": checkpoints hold plain files only");
    fsync_path(path, false);
    files[path.filename().string()] = fs::file_size(path);
  }
  return nlohmann::json{{"format", 1}, {"step", step}, {"files", files}}.dump(2) + "\n";
}

// Puts the sealed `partial` in place of an existing checkpoint of the same step. Exchanging the two
// names in one atomic rename means a crash never leaves that step without a complete checkpoint
// (removing the old one first and renaming afterwards would); the old one, now under the partial
// name, is deleted afterwards and is never taken as complete. Filesystems without RENAME_EXCHANGE
// fall back to remove-then-rename.
void replace_checkpoint(const fs::path& partial, const fs::path& final_dir) {
  if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(partial);
    return;
  }
  fs::remove_all(final_dir);
  fs::rename(partial, final_dir);
}

}  // namespace

std::optional<int64_t> checkpoint_step(const fs::path& dir) {
  std::string name = dir.filename().string();
  if (!name.starts_with(kPrefix)) return std::nullopt;
  std::string_view digits = std::string_view(name).substr(std::char_traits<char>::length(kPrefix));
  int64_t step = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || step < 0) return std::nullopt;
  return step;
}

fs::path partial_checkpoint_dir(const fs::path& run_dir, int64_t step) {
  return run_dir / (kPrefix + std::to_string(step) + kPartialSuffix);
}

fs::path write_checkpoint(const fs::path& run_dir, int64_t step, const std::function<void(const fs::path&)>& fill) {
  const fs::path final_dir = run_dir / (kPrefix + std::to_string(step));
  const fs::path partial = partial_checkpoint_dir(run_dir, step);
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) throw Error(partial.string() + ": cannot create checkpoint directory: " + ec.message());
  try {
    fill(partial);
    io::write_file_atomically(partial / kCompleteMarker, marker_text(partial, step));
    fsync_path(partial, true);
    if (fs::exists(final_dir)) {
      replace_checkpoint(partial, final_dir);
    } else {
      fs::rename(partial, final_dir);
    }
    fsync_path(run_dir, true);
  } catch (const fs::filesystem_error& err) {
    fs::remove_all(partial, ec);
    throw Error(partial.string() + ": writing checkpoint failed: " + err.code().message());
  } catch (...) {
    fs::remove_all(partial, ec);
    throw;
  }
  return final_dir;
}

std::string checkpoint_problem(const fs::path& dir) {
  const fs::path marker = dir / kCompleteMarker;
  if (!fs::is_regular_file(marker)) return "no " + std::string(kCompleteMarker) + " marker (an interrupted write)";
  nlohmann::json json;
  try {
    std::ifstream in(marker);
    json = nlohmann::json::parse(in);
  } catch (const std::exception&) {
    return std::string(kCompleteMarker) + " is not valid JSON";
  }
  if (!json.contains("files") || !json["files"].is_object()) return std::string(kCompleteMarker) + " lists no files";
  for (const auto& [name, size] : json["files"].items()) {
    std::error_code ec;
    auto actual = fs::file_size(dir / name, ec);
    if (ec) return name + " is missing";
    if (!size.is_number_unsigned() || actual != size.get<uint64_t>()) {
      return name + " has " + std::to_string(actual) + " bytes, expected " + size.dump();
    }
  }
  return "";
}

std::vector<CheckpointRef> complete_checkpoints(const fs::path& run_dir) {
  std::vector<CheckpointRef> out;
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    auto step = checkpoint_step(entry.path());
    if (step && entry.is_directory() && checkpoint_problem(entry.path()).empty()) out.push_back({*step, entry.path()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointRef> latest_checkpoint(const fs::path& run_dir) {
  auto all = complete_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

void prune_checkpoints(const fs::path& run_dir, int64_t keep_last_n) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(kPrefix) && name.ends_with(kPartialSuffix)) fs::remove_all(entry.path(), ec);
  }
  if (keep_last_n <= 0) return;
  auto all = complete_checkpoints(run_dir);
  for (size_t i = 0; i + keep_last_n < all.size(); ++i) {
    // Renamed to a partial name first: a crash while deleting then leaves a ".partial" directory
    // (removed by the next prune) instead of a half-deleted "checkpoint-<step>" nothing cleans up.
    fs::path doomed = all[i].dir;
    doomed += kPartialSuffix;
    fs::remove_all(doomed, ec);
    fs::rename(all[i].dir, doomed, ec);
    fs::remove_all(ec ? all[i].dir : doomed, ec);
  }
}

}  // namespace llmft::train
