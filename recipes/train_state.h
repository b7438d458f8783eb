#pragma once
// What a resumable checkpoint holds and how it is read back:
//   adapter_model.safetensors + adapter_config.json   (method: lora; PEFT layout, usable as is)
//   model.safetensors + config.json                   (method: full)
//   optimizer.safetensors   AdamW state (exp_avg, exp_avg_sq, master copies, step)
//   rng_state.safetensors   generator states (dropout draws); rank R > 0 of a data-parallel run:
//                           rng_state.rank<R>.safetensors
//   trainer_state.json      step, data cursor, accumulation micro-step, tokens seen, skipped steps, the recipe
// No pickle anywhere: safetensors and JSON only.
#include <cstdint>
#include <filesystem>

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
void write_checkpoint_files(const std::filesystem::path& dir, TrainingSetup& setup, const train::AdamW& optimizer,
                            const TrainerState& state,
                            const std::vector<std::vector<io::NamedTensor>>& rank_rng = {});

// Restores weights (adapter or full model), optimizer state and trainer state from `dir`; the
// generators are restored by restore_checkpoint_rng, last, right before training continues.
TrainerState read_checkpoint_files(const std::filesystem::path& dir, TrainingSetup& setup, train::AdamW& optimizer);
void restore_checkpoint_rng(const std::filesystem::path& dir, c10::Device device, int rank = 0);

// Keys whose values differ between two resolved recipes (flattened, "train.lr"), ignoring those a
// resume may change (output.*, eval.*, train.max_steps, train.epochs, train.max_nonfinite_steps).
std::vector<std::string> incompatible_recipe_keys(const nlohmann::json& saved, const nlohmann::json& current);

}  // namespace llmft::recipes
