#pragma once
// Checkpoint directories inside a run directory, written so a crash at any moment never leaves
// something that looks complete but is not:
//   1. every file goes into "<run>/checkpoint-<step>.partial/" (each fsync'ed);
//   2. a COMPLETE marker listing every file and its size is written and fsync'ed;
//   3. the directory is renamed to "<run>/checkpoint-<step>" and the run directory fsync'ed.
// A checkpoint counts only when its marker is present and every listed file has the listed size.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

namespace llmft::train {

inline constexpr const char* kCompleteMarker = "COMPLETE";

struct CheckpointRef {
  int64_t step = 0;
  std::filesystem::path dir;
};

// Calls fill(partial_dir) to write the files, then seals and renames as above. An existing
// checkpoint for the same step is replaced. Returns the final directory. Throws llmft::Error naming
// the path on any I/O failure (the partial directory is removed; older checkpoints are untouched).
std::filesystem::path write_checkpoint(const std::filesystem::path& run_dir, int64_t step,
                                       const std::function<void(const std::filesystem::path&)>& fill);

// "<run>/checkpoint-<step>.partial": where write_checkpoint's fill() writes, so that other processes
// can add their files to it while fill() waits for them.
std::filesystem::path partial_checkpoint_dir(const std::filesystem::path& run_dir, int64_t step);

// An empty string when `dir` holds a complete checkpoint, else why not ("no COMPLETE marker",
// "optimizer.safetensors has 12 bytes, expected 4096", ...).
std::string checkpoint_problem(const std::filesystem::path& dir);

// Complete checkpoints of `run_dir`, oldest first. Partial or damaged ones are skipped.
std::vector<CheckpointRef> complete_checkpoints(const std::filesystem::path& run_dir);
std::optional<CheckpointRef> latest_checkpoint(const std::filesystem::path& run_dir);

// Deletes all but the newest `keep_last_n` complete checkpoints (0 keeps all) and any leftover
// ".partial" directories.
void prune_checkpoints(const std::filesystem::path& run_dir, int64_t keep_last_n);

// "checkpoint-<step>" -> step; nullopt for other names.
std::optional<int64_t> checkpoint_step(const std::filesystem::path& dir);

}  // namespace llmft::train
