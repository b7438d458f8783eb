#include "recipes/dry_run.h"

#include <cstdio>

#include "model/linear_cross_entropy.h"
#include "recipes/recipe_config.h"
#include "train/progress.h"

namespace llmft::recipes {
namespace {

std::string percent(int64_t part, int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%%", whole > 0 ? 100.0 * double(part) / double(whole) : 0.0);
  return text;
}

int64_t longest_example(const data::TokenizedDataset& d) {
  int64_t longest = 0;
  for (const auto& s : d.samples) longest = std::max<int64_t>(longest, int64_t(s.input_ids.size()));
  return longest;
}

}  // namespace

train::MemoryEstimate estimate_memory(const TrainingSetup& s, int ranks) {
  train::MemoryEstimateInput in;
  in.config = s.config;
  in.total_params = s.total_params;
  in.trainable_params = s.trainable_params;
  in.weight_bytes = int64_t(c10::elementSize(s.dtype));
  in.lora = s.lora.has_value();
  in.trainable_bytes = in.lora ? 4 : in.weight_bytes;
  in.master_weights = !in.lora && s.recipe.train.fp32_master_weights && s.dtype != at::kFloat;
  in.lora_rank = s.lora ? s.lora->rank : 0;
  in.batch_size = s.recipe.train.batch_size;
  in.seq_len = std::min(s.recipe.data.max_seq_len,
                        pad_width(s.recipe.data).of(std::max<int64_t>(1, longest_example(s.train_data))));
  in.fused_attention = s.device.is_cuda();
  in.loss_chunk_bytes = model::default_cross_entropy_chunk_bytes(s.device);
  in.ranks = ranks;
  in.zero_stage = ranks > 1 ? s.recipe.train.zero_stage : 0;
  return train::estimate_training_memory(in);
}

void print_dry_run(const TrainingSetup& s, std::ostream& out, int ranks) {
  const Recipe& r = s.recipe;
  out << "model      " << s.model_path.string() << " (" << model::architecture_name(s.config.architecture) << ", "
      << s.config.num_hidden_layers << " layers, hidden " << s.config.hidden_size << ", vocab " << s.config.vocab_size
      << ")\n";
  out << "device     " << s.device.str() << ", " << to_string(r.model.dtype) << "\n";
  out << "method     " << to_string(r.method);
  if (s.lora) {
    out << " (rank " << s.lora->rank << ", alpha " << s.lora->alpha << (s.lora->use_rslora ? ", rsLoRA" : "") << ")";
  }
  out << "\nparameters " << s.trainable_params << " trainable of " << s.total_params << " ("
      << percent(s.trainable_params, s.total_params) << ")\n";
  out << "data       " << s.train_data.samples.size() << " training examples, longest " << longest_example(s.train_data)
      << " tokens";
  if (s.eval_data) out << "; " << s.eval_data->samples.size() << " eval examples";
  out << "\nsteps      " << s.plan.total_steps << " optimizer steps (" << s.plan.steps_per_epoch << " per epoch; "
      << (ranks > 1 ? std::to_string(ranks) + " processes x " : std::string()) << r.train.batch_size << " x "
      << r.train.grad_accum_steps << " sequences per step), warmup " << s.plan.warmup_steps << "\n";
  const train::MemoryEstimate e = estimate_memory(s, ranks);
  using train::format_memory;
  out << "memory (estimate, batch " << r.train.batch_size << " at the longest example's length";
  if (ranks > 1) out << ", per process of " << ranks << ", train.zero_stage " << r.train.zero_stage;
  out << "):\n"
      << "  weights                    " << format_memory(e.weights) << "\n"
      << "  gradients                  " << format_memory(e.gradients) << "\n"
      << "  optimizer state            " << format_memory(e.optimizer) << "\n"
      << "  logits + loss              " << format_memory(e.logits) << "\n"
      << "  activations, checkpointed  " << format_memory(e.activations_checkpointed) << "\n"
      << "  activations, all kept      " << format_memory(e.activations_full) << "\n"
      << "  peak with checkpointing    " << format_memory(e.total(true))
      << (r.train.activation_checkpointing ? "  <- this recipe" : "") << "\n"
      << "  peak without               " << format_memory(e.total(false))
      << (r.train.activation_checkpointing ? "" : "  <- this recipe") << "\n";
  out << "dry run: recipe, model tensors, adapter targets, tokenizer and data all check out; nothing was trained\n";
}

}  // namespace llmft::recipes
