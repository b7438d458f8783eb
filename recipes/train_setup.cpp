#include "recipes/train_setup.h"

#include <cmath>

#include <torch/cuda.h>

#include "data/packing.h"
#include "data/token_cache.h"
#include "data/tokenizer_loader.h"
#include "io/error.h"
#include "io/model_locator.h"
#include "recipes/recipe_config.h"
#include "model/tensor_table.h"

namespace llmft::recipes {
namespace fs = std::filesystem;

c10::Device resolve_device(const Device& device) {
  switch (device.kind) {
    case Device::Kind::kCpu: return c10::Device(c10::kCPU);
    case Device::Kind::kAuto:
      return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    case Device::Kind::kCuda: {
      if (!torch::cuda::is_available()) {
        throw Error("model.device: '" + to_string(device) +
                    "' requested but this libtorch has no usable CUDA device (use device: cpu or auto)");
      }
      int index = device.index < 0 ? 0 : device.index;
      if (index >= int(torch::cuda::device_count())) {
        throw Error("model.device: cuda:" + std::to_string(index) + " does not exist (" +
                    std::to_string(torch::cuda::device_count()) + " CUDA device(s))");
      }
      return c10::Device(c10::kCUDA, c10::DeviceIndex(index));
    }
  }
  return c10::Device(c10::kCPU);
}

c10::Device resolve_rank_device(const Device& device, int local_rank) {
  const c10::Device resolved = resolve_device(device);
  if (!resolved.is_cuda() || device.index >= 0 || local_rank == 0) return resolved;
  const int count = int(torch::cuda::device_count());
  if (local_rank >= count) {
    throw Error("model.device: " + to_string(device) + " puts rank LOCAL_RANK=" + std::to_string(local_rank) +
                " on GPU " + std::to_string(local_rank) + ", but this machine has " + std::to_string(count) +
                " CUDA device(s): start at most " + std::to_string(count) + " ranks per machine");
  }
  return c10::Device(c10::kCUDA, c10::DeviceIndex(local_rank));
}

c10::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return at::kBFloat16;
    case DType::kFP16: return at::kHalf;
    case DType::kFP32: return at::kFloat;
  }
  return at::kFloat;
}

train::Schedule to_schedule(LrScheduler scheduler) {
  switch (scheduler) {
    case LrScheduler::kCosine: return train::Schedule::kCosine;
    case LrScheduler::kLinear: return train::Schedule::kLinear;
    case LrScheduler::kConstant: return train::Schedule::kConstant;
  }
  return train::Schedule::kConstant;
}

lora::LoraOptions to_lora_options(const LoraSection& section, int64_t seed) {
  lora::LoraOptions o;
  o.rank = section.rank;
  o.alpha = section.alpha;
  o.dropout = section.dropout;
  o.target_modules = section.target_modules;
  o.use_rslora = section.use_rslora;
  o.init = section.init == LoraInit::kGaussian ? "gaussian" : "default";
  o.seed = uint64_t(seed);
  o.modules_to_save = section.modules_to_save;
  return o;
}

StepPlan plan_steps(const TrainSection& train, int64_t train_examples) {
  StepPlan plan;
  plan.batches_per_epoch = train_examples / train.batch_size;
  plan.steps_per_epoch = plan.batches_per_epoch / train.grad_accum_steps;
  if (plan.steps_per_epoch == 0) {
    throw Error("data.path: " + std::to_string(train_examples) + " training examples make no full optimizer step (" +
                "train.batch_size " + std::to_string(train.batch_size) + " x train.grad_accum_steps " +
                std::to_string(train.grad_accum_steps) + " = " +
                std::to_string(train.batch_size * train.grad_accum_steps) + " examples per step)");
  }
  plan.total_steps = train.max_steps ? *train.max_steps : plan.steps_per_epoch * train.epochs.value_or(1);
  // HF's TrainingArguments.get_warmup_steps: ceil(ratio * total).
  plan.warmup_steps = train.warmup_steps ? *train.warmup_steps
                                         : int64_t(std::ceil(train.warmup_ratio.value_or(0.0) * double(plan.total_steps)));
  return plan;
}

namespace {

data::RecordFormat to_record_format(DataFormat format) {
  switch (format) {
    case DataFormat::kText: return data::RecordFormat::kText;
    case DataFormat::kAlpaca: return data::RecordFormat::kAlpaca;
    case DataFormat::kChat: return data::RecordFormat::kChat;
    case DataFormat::kShareGpt: return data::RecordFormat::kShareGpt;
  }
  return data::RecordFormat::kChat;
}

}  // namespace

data::PadWidth pad_width(const DataSection& section) {
  return data::PadWidth{section.pad_to_multiple_of.value_or(1), section.max_seq_len};
}

data::DatasetOptions dataset_options(const DataSection& d, const fs::path& path) {
  data::DatasetOptions o;
  o.path = path;
  o.format = to_record_format(d.format);
  o.template_name = d.template_name;
  if (d.custom_template) {
    const CustomTemplateSection& c = *d.custom_template;
    o.custom_template = data::CustomTemplate{c.bos, c.system, c.user, c.assistant, c.default_system};
  }
  o.max_seq_len = d.max_seq_len;
  o.truncation = d.truncation == Truncation::kLeft   ? data::TruncationSide::kLeft
                 : d.truncation == Truncation::kDrop ? data::TruncationSide::kDrop
                                                     : data::TruncationSide::kRight;
  o.train_on_prompt = d.train_on_prompt;
  o.skip_bad_records = d.on_error == OnError::kSkip;
  if (d.cache) o.cache_dir = data::default_token_cache_dir();
  return o;
}

std::string describe_stats(const data::TokenizedDataset& d) {
  const auto& s = d.stats;
  double share = s.tokens > 0 ? 100.0 * double(s.supervised_tokens) / double(s.tokens) : 0.0;
  char text[256];
  std::snprintf(text, sizeof text,
                "%lld records -> %zu examples (%lld truncated, %lld dropped, %lld skipped), "
                "%lld tokens, %.1f%% supervised, template %s",
                static_cast<long long>(s.records), d.samples.size(), static_cast<long long>(s.truncated),
                static_cast<long long>(s.dropped), static_cast<long long>(s.skipped), static_cast<long long>(s.tokens),
                share, d.template_used.c_str());
  return text;
}

TrainingData load_training_data(const Recipe& recipe, const data::Tokenizer& tokenizer,
                                const std::function<void(const std::string&)>& log) {
  if (!fs::exists(recipe.data.path)) throw Error("data.path: " + recipe.data.path + ": no such file");
  log("tokenizing " + recipe.data.path);
  TrainingData out;
  data::TokenizedDataset all = data::load_dataset(dataset_options(recipe.data, recipe.data.path), tokenizer);
  if (recipe.data.eval_split) {
    auto split = data::split_for_eval(std::move(all), *recipe.data.eval_split, uint64_t(recipe.train.seed));
    out.train = std::move(split.train);
    out.eval = std::move(split.eval);
  } else {
    out.train = std::move(all);
  }
  if (recipe.data.eval_path) {
    if (!fs::exists(*recipe.data.eval_path)) throw Error("data.eval_path: " + *recipe.data.eval_path + ": no such file");
    out.eval = data::load_dataset(dataset_options(recipe.data, *recipe.data.eval_path), tokenizer);
  }
  auto report = [&log](const char* name, const data::TokenizedDataset& d) {
    log(std::string(name) + " data: " + describe_stats(d));
    if (!d.cache_note.empty()) log(std::string(name) + " data: token cache " + d.cache_note);
    for (const std::string& warning : d.warnings) log("warning: " + warning);
    // Never silent: every skipped record is counted and the first few are named.
    for (const std::string& reason : d.stats.skip_examples) log(std::string(name) + " data: skipped " + reason);
  };
  report("train", out.train);
  if (out.eval) report("eval", *out.eval);
  if (out.eval && out.eval->samples.empty()) throw Error("eval data: no example is left to evaluate on");
  return out;
}

TrainingSetup prepare_training(const Recipe& recipe, bool load_weights, int local_rank,
                               const std::function<void(const std::string&)>& log) {
  TrainingSetup s;
  s.recipe = recipe;
  s.device = resolve_rank_device(recipe.model.device, local_rank);
  s.dtype = to_scalar_type(recipe.model.dtype);
  s.model_path = io::resolve_model_path(recipe.model.path);

  s.tokenizer = data::load_tokenizer(s.model_path);
  s.pad_id = s.tokenizer->pad_id().value_or(s.tokenizer->eos_id().value_or(0));

  TrainingData data = load_training_data(recipe, *s.tokenizer, log);
  s.train_data = std::move(data.train);
  s.eval_data = std::move(data.eval);
  // Checked here, not when loading, so `llmft data inspect` still shows such data.
  if (s.train_data.samples.empty()) {
    const auto& st = s.train_data.stats;
    throw Error("data.path: " + recipe.data.path + ": no example is left to train on (" + std::to_string(st.records) +
                " records: " + std::to_string(st.truncated) + " truncated, " + std::to_string(st.dropped) +
                " dropped without a supervised token, " + std::to_string(st.skipped) +
                " skipped); raise data.max_seq_len or check the data");
  }
  if (recipe.data.packing) {
    data::PackingStats packing;
    s.train_data.samples = data::pack_samples(s.train_data.samples, recipe.data.max_seq_len, &packing);
    char line[160];
    std::snprintf(line, sizeof line, "packing: %lld examples -> %lld rows of <= %lld tokens (%.1f%% filled)",
                  static_cast<long long>(packing.examples), static_cast<long long>(packing.rows),
                  static_cast<long long>(recipe.data.max_seq_len), 100.0 * packing.fill);
    log(line);
  }
  s.plan = plan_steps(recipe.train, int64_t(s.train_data.samples.size()));

  log("loading " + s.model_path.string() + " (" + to_string(recipe.model.dtype) + ", " + s.device.str() + ")");
  if (load_weights) {
    model::LoadedModel loaded = model::load_pretrained(s.model_path, s.dtype, s.device);
    s.config = loaded.config;
    s.model = loaded.model;
  } else {
    s.config = model::check_pretrained(s.model_path);
    // Parameters are torch::empty: no page is touched, so even a large model costs nothing here.
    s.model = model::LlamaForCausalLM(s.config, s.dtype, c10::Device(c10::kCPU));
  }
  if (s.tokenizer->vocab_size() > s.config.vocab_size) {
    throw Error(s.model_path.string() + ": the tokenizer has " + std::to_string(s.tokenizer->vocab_size()) +
                " tokens but the model's vocab_size is " + std::to_string(s.config.vocab_size));
  }

  if (recipe.method == Method::kLora) {
    s.lora = to_lora_options(recipe.lora, recipe.train.seed);
    lora::InjectReport report = lora::inject_lora(*s.model, *s.lora);
    s.trainable_params = report.trainable_params;
    s.total_params = report.total_params;
  } else {
    for (auto& p : s.model->parameters()) p.set_requires_grad(true);
  }
  s.model->model->set_activation_checkpointing(recipe.train.activation_checkpointing);
  s.total_params = 0;
  s.trainable_params = 0;
  for (const auto& item : s.model->named_parameters(/*recurse=*/true)) {
    s.total_params += item.value().numel();
    if (!item.value().requires_grad()) continue;
    s.trainable_params += item.value().numel();
    s.trainable.push_back({item.key(), item.value(), train::decays(item.key())});
  }
  return s;
}

}  // namespace llmft::recipes
