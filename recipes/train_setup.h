#pragma once
// Everything a training run needs, built and checked from a resolved recipe before the first step:
// device, tokenizer, tokenized data (and eval data), the model with adapters (or all weights
// trainable), the optimizer's parameter list and the step plan. Every failure is one llmft::Error.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "lora/inject.h"
#include "model/load.h"
#include "recipes/recipe.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace llmft::recipes {

struct StepPlan {
  int64_t batches_per_epoch = 0;  // micro-batches
  int64_t steps_per_epoch = 0;    // optimizer steps
  int64_t total_steps = 0;
  int64_t warmup_steps = 0;
};

struct TrainingSetup {
  Recipe recipe;
  c10::Device device{c10::kCPU};
  c10::ScalarType dtype = at::kFloat;
  std::filesystem::path model_path;  // resolved (alias -> file)
  std::unique_ptr<data::Tokenizer> tokenizer;
  int32_t pad_id = 0;
  data::TokenizedDataset train_data;
  std::optional<data::TokenizedDataset> eval_data;
  model::LlamaConfig config;
  model::LlamaForCausalLM model{nullptr};  // null in a dry run (weights checked, not loaded)
  std::optional<lora::LoraOptions> lora;   // method: lora
  std::vector<train::OptimizedParam> trainable;
  int64_t total_params = 0;
  int64_t trainable_params = 0;
  StepPlan plan;
};

// Progress lines ("loading model ...") go to `log`. With load_weights false (dry run) the checkpoint
// is checked tensor by tensor against the config but nothing is allocated or loaded.
TrainingSetup prepare_training(const Recipe& recipe, bool load_weights, int local_rank,
                               const std::function<void(const std::string&)>& log);

// The training data (and held-out data) a recipe names, tokenized as training sees it; the
// statistics lines go to `log`.
struct TrainingData {
  data::TokenizedDataset train;
  std::optional<data::TokenizedDataset> eval;
};
TrainingData load_training_data(const Recipe& recipe, const data::Tokenizer& tokenizer,
                                const std::function<void(const std::string&)>& log);
data::DatasetOptions dataset_options(const DataSection& section, const std::filesystem::path& path);
// How wide training and evaluation batches are padded (data.pad_to_multiple_of, capped at max_seq_len).
data::PadWidth pad_width(const DataSection& section);
// "N records -> M examples (T truncated, D dropped ...), tokens, % supervised, template".
std::string describe_stats(const data::TokenizedDataset& dataset);

c10::Device resolve_device(const Device& device);
// In a data-parallel run: `auto` (with CUDA) and plain `cuda` mean this machine's GPU number
// LOCAL_RANK, one GPU per rank as torchrun expects; an explicit cuda:N is taken as written.
c10::Device resolve_rank_device(const Device& device, int local_rank);
c10::ScalarType to_scalar_type(DType dtype);
train::Schedule to_schedule(LrScheduler scheduler);
lora::LoraOptions to_lora_options(const LoraSection& section, int64_t seed);
StepPlan plan_steps(const TrainSection& train, int64_t train_examples);

}  // namespace llmft::recipes
