#pragma once
// A fine-tuning recipe as plain typed structs: what a YAML recipe plus `key=value` overrides resolve to
// (recipes/recipe_config.h). Field names are the YAML keys, so `train.lr` in a recipe is `recipe.train.lr`
// here. Every default below is documented in docs/recipes.md; change both together.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmft::recipes {

enum class DType { kBF16, kFP16, kFP32 };
enum class Method { kLora, kFull };
enum class LoraInit { kDefault, kGaussian };
enum class DataFormat { kText, kAlpaca, kChat, kShareGpt };
enum class LrScheduler { kCosine, kLinear, kConstant };
// What happens to an example longer than data.max_seq_len.
enum class Truncation {
  kRight,  // keep the first max_seq_len tokens
  kLeft,   // keep the last max_seq_len tokens (the final answer survives; the prompt start is cut)
  kDrop,   // leave the example out
};
// What happens to a record that cannot be read (malformed JSON, missing field, bad conversation).
enum class OnError { kFail, kSkip };

// `auto` | `cpu` | `cuda` | `cuda:N`. `auto` picks CUDA when available; plain `cuda` (index -1) means the
// current CUDA device, as torch::Device("cuda") does.
struct Device {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = -1;
  bool operator==(const Device&) const = default;
};

// The target_modules value that wraps every nn.Linear except the output head, as PEFT spells it.
inline constexpr const char* kAllLinear = "all-linear";

struct ModelSection {
  std::string path = "smollm2-135m";  // HF directory, .gguf file, or the bundled alias
  DType dtype = DType::kBF16;         // compute and trainable-weight dtype
  Device device;
};

// PEFT's LoraConfig under the key names: rank = r, alpha = lora_alpha, dropout = lora_dropout,
// init = init_lora_weights (true -> default).
struct LoraSection {
  int64_t rank = 16;
  double alpha = 32.0;
  double dropout = 0.05;
  std::vector<std::string> target_modules{kAllLinear};  // {"all-linear"} or module names (q_proj, ...)
  bool use_rslora = false;  // scale by alpha / sqrt(rank) instead of alpha / rank
  LoraInit init = LoraInit::kDefault;
  std::vector<std::string> modules_to_save;  // fully trained and saved with the adapter, e.g. lm_head
};

// data.custom_template: a chat template written in the recipe, used with data.template: custom. Each
// role's format holds {content} once (docs/chat-templates.md); the assistant's {content} and what its
// format writes after it are trained on.
struct CustomTemplateSection {
  bool bos = false;                   // BOS id before the text
  std::optional<std::string> system;  // unset: records with a system message are an error
  std::string user;                   // required
  std::string assistant;              // required
  std::optional<std::string> default_system;  // written with `system` when a record has none
  bool operator==(const CustomTemplateSection&) const = default;
};

struct DataSection {
  std::string path;  // required
  DataFormat format = DataFormat::kChat;
  std::string template_name = "auto";  // YAML key `template` (a C++ keyword)
  std::optional<CustomTemplateSection> custom_template;  // required by (and only with) template: custom
  int64_t max_seq_len = 2048;
  Truncation truncation = Truncation::kRight;
  // Concatenate examples into rows of max_seq_len (position ids restart and attention stays inside
  // each example) instead of padding each batch to its longest example.
  bool packing = false;
  // Batches of similar lengths (less padding); order stays seeded and resumable.
  bool group_by_length = false;
  // Pad each batch to a multiple of this many tokens (capped at max_seq_len); null: to its longest
  // example. Fewer distinct shapes: steadier memory on the CPU, friendlier kernels on the GPU.
  std::optional<int64_t> pad_to_multiple_of;
  bool train_on_prompt = false;
  OnError on_error = OnError::kFail;
  // Reuse tokenized data from the token cache ($LLMFT_CACHE_DIR, else ~/.cache/llmft) when its key
  // (tokenizer, data bytes, template, masking, max_seq_len, truncation) matches.
  bool cache = true;
  // Held-out evaluation data: a fraction of `path`, or a separate file; at most one of the two.
  std::optional<double> eval_split;
  std::optional<std::string> eval_path;
};

struct TrainSection {
  int64_t batch_size = 4;  // sequences per micro-batch
  int64_t grad_accum_steps = 4;
  // Length of training: exactly one of the two ends up set (epochs = 1 when a recipe names neither).
  std::optional<int64_t> max_steps;
  std::optional<int64_t> epochs = 1;
  double lr = 2e-4;  // for method: full the default is 2e-5 (applied when lr is not set)
  double weight_decay = 0.0;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  LrScheduler lr_scheduler = LrScheduler::kCosine;
  // Warmup: exactly one of the two ends up set (warmup_ratio = 0.03 when a recipe names neither).
  std::optional<int64_t> warmup_steps;
  std::optional<double> warmup_ratio = 0.03;
  double max_grad_norm = 1.0;  // 0 disables clipping
  // Steps with a non-finite loss or gradient norm that are skipped before training stops; 0 stops at the first.
  int64_t max_nonfinite_steps = 3;
  // Multi-process runs: how long the rendezvous and any one collective may wait for the other
  // ranks before the run stops with an error (torch.distributed's default, 30 minutes).
  int64_t dist_timeout_seconds = 1800;
  // Multi-process runs: 0 every rank keeps the whole optimizer state; 1 each rank keeps a 1/N share
  // of it (ZeRO stage 1); 2 also a 1/N share of the gradients (ZeRO stage 2). A single process
  // ignores it. See docs/distributed.md.
  int64_t zero_stage = 0;
  bool activation_checkpointing = true;
  // method: full with bf16/fp16 weights: keep fp32 master copies in the optimizer (no lost updates).
  bool fp32_master_weights = true;
  int64_t seed = 42;
};

struct OutputSection {
  std::string dir = "out";
  int64_t save_every_steps = 500;  // 0: save only at the end
  int64_t keep_last_n = 3;         // checkpoints kept; 0 keeps all
  int64_t log_every_steps = 10;
};

struct EvalSection {
  int64_t every_steps = 200;  // 0: evaluate only at the end
  int64_t max_batches = 0;    // 0: the whole eval set
};

struct Recipe {
  ModelSection model;
  Method method = Method::kLora;
  LoraSection lora;
  DataSection data;
  TrainSection train;
  OutputSection output;
  EvalSection eval;
};

}  // namespace llmft::recipes
