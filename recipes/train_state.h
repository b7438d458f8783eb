#pragma once
// What a resumable checkpoint holds and how it is read back:
//   adapter_model.safetensors + adapter_config.json   (method: lora; PEFT layout, usable as is)
//   model.safetensors + config.json                   (method: full)
//   optimizer.safetensors   AdamW state (exp_avg, exp_avg_sq, master copies, step); with sharded
//                           optimizer state (train.zero_stage > 0) one optimizer.rank<R>.safetensors
//                           per rank instead, each holding its own parameters' entries
//   rng_state.safetensors   generator states (dropout draws); rank R > 0 of a data-parallel run:
//                           rng_state.rank<R>.safetensors
//   trainer_state.json      step, data cursor, accumulation micro-step, tokens seen, skipped steps, the recipe
// No pickle anywhere: safetensors and JSON only.
#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "recipes/train_setup.h"
#include "train/adamw.h"

namespace llmft::recipes {

struct TrainerState {
  int64_t step = 0;  // optimizer steps completed
  data::LoaderCursor cursor;
  int64_t micro_step = 0;  // micro-batches into the current accumulation window (0 at step boundaries)
  int64_t tokens_seen = 0;
  // Steps skipped so far for a non-finite loss or gradient norm; saved so that a resumed run stops
  // after the same number of skips as an uninterrupted one.
  int64_t nonfinite_skipped = 0;
  double elapsed_seconds = 0;  // training time summed over every process of the run
  int64_t world_size = 1;      // processes of the data-parallel run (the batch split depends on it)
  nlohmann::json recipe;       // resolved recipe the checkpoint was made with
};

// Fills `dir` (a partial checkpoint directory) with the files above. `rank_rng` holds every rank's
// generator states in a data-parallel run (index = rank; empty: this process's own).
// `optimizer_shard`: this optimizer holds rank R's share (written as optimizer.rank<R>.safetensors;
// the other ranks add theirs with write_optimizer_state); nullopt: the whole state.
void write_checkpoint_files(const std::filesystem::path& dir, TrainingSetup& setup, const train::AdamW& optimizer,
                            const TrainerState& state,
                            const std::vector<std::vector<io::NamedTensor>>& rank_rng = {},
                            std::optional<int> optimizer_shard = std::nullopt);
void write_optimizer_state(const std::filesystem::path& dir, const train::AdamW& optimizer,
                           std::optional<int> optimizer_shard);

// Restores weights (adapter or full model), optimizer state (this rank's share when
// `optimizer_shard` is set) and trainer state from `dir`; the generators are restored by
// restore_checkpoint_rng, last, right before training continues. A checkpoint written by a run with
// another number of processes than `world_size` is refused before anything is loaded.
TrainerState read_checkpoint_files(const std::filesystem::path& dir, TrainingSetup& setup, train::AdamW& optimizer,
                                   int world_size = 1, std::optional<int> optimizer_shard = std::nullopt);
void restore_checkpoint_rng(const std::filesystem::path& dir, c10::Device device, int rank = 0);

// Keys whose values differ between two resolved recipes (flattened, "train.lr"), ignoring those a
// resume may change (output.*, eval.*, train.max_steps, train.epochs, train.max_nonfinite_steps).
std::vector<std::string> incompatible_recipe_keys(const nlohmann::json& saved, const nlohmann::json& current);

}  // namespace llmft::recipes
