#pragma once
// `llmft train --dry-run`: everything has been checked (recipe, model tensors, LoRA targets,
// tokenizer, data); print what the run would do and how much memory it should need, then stop.
#include <ostream>

#include "recipes/train_setup.h"
#include "train/memory_estimate.h"

namespace llmft::recipes {

// `ranks`: processes of a data-parallel run (--nproc or WORLD_SIZE); memory is then per process.
train::MemoryEstimate estimate_memory(const TrainingSetup& setup, int ranks = 1);
void print_dry_run(const TrainingSetup& setup, std::ostream& out, int ranks = 1);

}  // namespace llmft::recipes
