#pragma once
// `llmft train --dry-run`: everything has been checked (recipe, model tensors, LoRA targets,
// tokenizer, data); print what the run would do and how much memory it should need, then stop.
#include <ostream>

#include "recipes/train_setup.h"
#include "train/memory_estimate.h"

namespace llmft::recipes {

train::MemoryEstimate estimate_memory(const TrainingSetup& setup);
void print_dry_run(const TrainingSetup& setup, std::ostream& out);

}  // namespace llmft::recipes
