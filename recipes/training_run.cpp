#include "recipes/training_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "data/loader.h"
#include "dist/communicator.h"
#include "recipes/data_parallel.h"
#include "recipes/gradient_sync.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "lora/peft_adapter.h"
#include "recipes/dry_run.h"
#include "recipes/model_export.h"
#include "recipes/recipe_config.h"
#include "recipes/train_state.h"
#include "train/accumulate.h"
#include "train/checkpoint_store.h"
#include "train/grad_clip.h"
#include "train/heap_release.h"
#include "train/loss_plot.h"
#include "train/memory_usage.h"
#include "train/metrics_log.h"
#include "train/progress.h"
#include "train/stop_signal.h"

namespace llmft::recipes {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string shortest(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// The command that continues this run, for the message printed when a run stops early.
std::string resume_hint(const TrainCommand& command) {
  std::string text = "llmft train " + command.recipe_path.string();
  for (const auto& o : command.overrides) text += " " + o;
  return text + " --resume";
}

// TEST-ONLY hook, read here and nowhere else: LLMFT_TEST_NONFINITE_STEPS="3,5" makes the loss of
// optimizer steps 3 and 5 NaN, so the tests can exercise non-finite steps deterministically on a
// model that does not diverge. Unset (the only sensible setting outside the tests), it does nothing.
std::set<int64_t> test_poisoned_steps() {
  std::set<int64_t> steps;
  const char* text = std::getenv("LLMFT_TEST_NONFINITE_STEPS");
  if (text == nullptr) return steps;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) steps.insert(std::stoll(item));
  }
  return steps;
}

fs::path choose_checkpoint(const TrainCommand& command, const fs::path& run_dir) {
  if (!command.resume->empty()) {
    fs::path dir = *command.resume;
    if (!fs::is_directory(dir)) throw Error("--resume: " + dir.string() + ": no such checkpoint directory");
    std::string problem = train::checkpoint_problem(dir);
    if (!problem.empty()) throw Error("--resume: " + dir.string() + ": not a complete checkpoint: " + problem);
    return dir;
  }
  auto latest = train::latest_checkpoint(run_dir);
  if (!latest) {
    throw Error("--resume: no complete checkpoint in " + run_dir.string() +
                " (output.dir); start without --resume or name a checkpoint directory");
  }
  return latest->dir;
}

// Where progress goes: stderr on the rank that logs, nowhere on the others.
std::FILE* progress_stream(const dist::WorldInfo& world) {
  if (world.is_main()) return stderr;
  static std::FILE* discard = std::fopen("/dev/null", "w");
  return discard;
}

class Trainer {
 public:
  // `comm` is null in a single-process run. With N ranks every rank loads global micro-batches of
  // N x train.batch_size and trains on its slice (data::BatchLoader::next_shard).
  Trainer(const TrainCommand& command, TrainingSetup& setup, std::unique_ptr<dist::Communicator> comm)
      : command_(command),
        s_(setup),
        comm_(std::move(comm)),
        world_(comm_ ? comm_->world() : dist::WorldInfo{}),
        run_dir_(setup.recipe.output.dir),
        zero_stage_(comm_ ? int(setup.recipe.train.zero_stage) : 0),
        bucket_plan_(plan_gradient_buckets(setup.trainable, world_.world_size, zero_stage_)),
        optimizer_(owned_trainable(setup.trainable, bucket_plan_, world_.rank, zero_stage_), adamw_options(setup)),
        loader_(setup.train_data.samples, setup.recipe.train.batch_size * world_.world_size,
                uint64_t(setup.recipe.train.seed), setup.pad_id, /*shuffle=*/true, setup.recipe.data.group_by_length,
                pad_width(setup.recipe.data)),
        progress_(progress_stream(world_), world_.is_main() && isatty(STDERR_FILENO) != 0,
                  setup.recipe.output.log_every_steps, 0) {
    if (comm_) {
      std::vector<at::Tensor> params;
      for (const auto& p : s_.trainable) params.push_back(p.param);
      gradient_sync_ = std::make_unique<GradientSync>(
          *comm_, std::move(params), bucket_plan_,
          zero_stage_ == 2 ? GradientSync::Mode::reduce_to_owner : GradientSync::Mode::all_reduce);
    }
    if (s_.eval_data) {
      eval_batches_ = data::sequential_batches(s_.eval_data->samples, s_.recipe.train.batch_size, s_.pad_id,
                                               s_.recipe.eval.max_batches, pad_width(s_.recipe.data));
    }
  }

  int run() {
    if (world_.is_main()) fs::create_directories(run_dir_);
    state_.recipe = recipe_to_json(s_.recipe);
    std::optional<int64_t> resumed_step;
    if (command_.resume) {
      fs::path checkpoint = choose_checkpoint(command_, run_dir_);
      state_ = read_checkpoint_files(checkpoint, s_, optimizer_, world_.world_size, optimizer_shard());
      auto differences = incompatible_recipe_keys(state_.recipe, recipe_to_json(s_.recipe));
      if (!differences.empty()) {
        std::string list;
        for (const auto& d : differences) list += (list.empty() ? "" : "; ") + d;
        throw Error("--resume: " + checkpoint.string() + " was made with a different recipe: " + list);
      }
      state_.recipe = recipe_to_json(s_.recipe);
      loader_.seek(state_.cursor);
      resumed_step = state_.step;
      progress_ = train::ProgressReporter(progress_stream(world_), world_.is_main() && isatty(STDERR_FILENO) != 0,
                                          s_.recipe.output.log_every_steps, state_.step);
      progress_.message("resuming from " + checkpoint.string() + " at step " + std::to_string(state_.step) + "/" +
                        std::to_string(s_.plan.total_steps));
      restore_checkpoint_rng(checkpoint, s_.device, world_.rank);
    } else {
      if (auto existing = train::latest_checkpoint(run_dir_)) {
        throw Error("output.dir: " + run_dir_.string() + " already holds a run (" + existing->dir.filename().string() +
                    "); continue it with --resume, or choose another output.dir");
      }
      // Each rank its own dropout stream (rank 0's is the single-process one).
      torch::manual_seed(uint64_t(s_.recipe.train.seed) + uint64_t(world_.rank));
    }
    state_.world_size = world_.world_size;
    if (comm_) {
      // Every rank starts from rank 0's trainable weights, whatever its own initialisation did.
      broadcast_trainable(*comm_, s_.trainable);
      progress_.message("data parallel: " + std::to_string(world_.world_size) + " processes x batch " +
                        std::to_string(s_.recipe.train.batch_size) + " x accumulation " +
                        std::to_string(s_.recipe.train.grad_accum_steps) + " = " +
                        std::to_string(world_.world_size * s_.recipe.train.batch_size * s_.recipe.train.grad_accum_steps) +
                        " examples per step (" + comm_->backends() + ", train.zero_stage " + std::to_string(zero_stage_) + ")");
    }
    if (world_.is_main()) {
      io::write_file_atomically(run_dir_ / "run.json", run_info_json(s_, command_.context).dump(2) + "\n");
      metrics_.emplace(run_dir_ / "metrics.jsonl", resumed_step);
    }
    if (!resumed_step && !eval_batches_.empty()) evaluate("before training");

    train::StopSignal stop;
    const auto process_start = Clock::now();
    const double elapsed_before = state_.elapsed_seconds;
    while (state_.step < s_.plan.total_steps) {
      train_one_step(elapsed_before + seconds_since(process_start));
      bool eval_due = s_.recipe.eval.every_steps > 0 && state_.step % s_.recipe.eval.every_steps == 0 &&
                      state_.step < s_.plan.total_steps;
      if (eval_due && !eval_batches_.empty()) evaluate("step " + std::to_string(state_.step));
      state_.elapsed_seconds = elapsed_before + seconds_since(process_start);
      bool save_due = s_.recipe.output.save_every_steps > 0 && state_.step % s_.recipe.output.save_every_steps == 0 &&
                      state_.step < s_.plan.total_steps;
      const bool stopping = comm_ ? any_rank(*comm_, stop.received() != 0) : stop.received() != 0;
      if (stopping) {
        save_checkpoint();
        progress_.finish();
        std::fprintf(stderr, "llmft: stopped at step %lld/%lld; checkpoint saved. Resume with: %s\n",
                     static_cast<long long>(state_.step), static_cast<long long>(s_.plan.total_steps),
                     resume_hint(command_).c_str());
        return stop.received() != 0 ? stop.exit_code() : 128 + SIGTERM;  // another rank was stopped
      }
      if (save_due) save_checkpoint();
    }
    state_.elapsed_seconds = elapsed_before + seconds_since(process_start);
    if (!eval_batches_.empty()) evaluate("end of training");
    save_checkpoint();
    progress_.finish();
    if (!world_.is_main()) return 0;
    write_final_output();
    train::write_loss_svg(run_dir_ / "loss.svg", train::loss_series_from_metrics(metrics_->path()));
    print_summary();
    return 0;
  }

 private:
  static train::AdamWOptions adamw_options(const TrainingSetup& s) {
    train::AdamWOptions o;
    o.weight_decay = s.recipe.train.weight_decay;
    o.beta1 = s.recipe.train.betas[0];
    o.beta2 = s.recipe.train.betas[1];
    o.eps = s.recipe.train.eps;
    o.fp32_master_weights = !s.lora && s.recipe.train.fp32_master_weights && s.dtype != at::kFloat;
    return o;
  }

  // Global-norm clipping; returns the norm before clipping. At ZeRO stage 2 each rank holds only its
  // own buckets' gradients, and the per-gradient norms are gathered to form the same total.
  double clip_gradients() {
    std::vector<at::Tensor> params;
    for (const auto& p : s_.trainable) params.push_back(p.param);
    if (zero_stage_ < 2) return train::clip_grad_norm(params, s_.recipe.train.max_grad_norm);
    std::vector<bool> owned(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) owned[i] = bucket_plan_.owns(i, world_.rank);
    return train::clip_sharded_grad_norm(
        params, owned, [this](at::Tensor& norms) { comm_->all_reduce_sum({norms}); }, s_.recipe.train.max_grad_norm);
  }

  // Every trainable parameter's gradient, not only the ones this rank's optimizer updates.
  void clear_gradients() {
    for (const auto& p : s_.trainable) {
      at::Tensor param = p.param;
      param.mutable_grad() = at::Tensor();
    }
  }

  // Which optimizer-state file of a checkpoint is this rank's (none: the one unsharded file).
  std::optional<int> optimizer_shard() const {
    return zero_stage_ > 0 ? std::optional<int>(world_.rank) : std::nullopt;
  }

  void train_one_step(double elapsed) {
    const auto start = Clock::now();
    std::vector<data::Batch> window;
    window.reserve(size_t(s_.recipe.train.grad_accum_steps));
    for (int64_t i = 0; i < s_.recipe.train.grad_accum_steps; ++i)
      window.push_back(loader_.next_shard(world_.rank, world_.world_size));
    train::WindowResult result;
    if (comm_) {
      result = train::forward_backward(*s_.model, window, s_.device, gradient_sync_->hooks());
      gradient_sync_->finish_window();
      result = sum_window(*comm_, result);
    } else {
      result = train::forward_backward(*s_.model, window, s_.device);
    }
    const double grad_norm = clip_gradients();
    const int64_t step_number = state_.step + 1;
    if (poisoned_steps_.count(step_number) != 0) result.loss = NAN;
    if (!std::isfinite(result.loss) || !std::isfinite(grad_norm)) {
      skip_nonfinite_step(step_number, result, grad_norm, elapsed + seconds_since(start));
      return;
    }
    double lr = train::scheduled_lr(to_schedule(s_.recipe.train.lr_scheduler), s_.recipe.train.lr, state_.step,
                                    s_.plan.warmup_steps, s_.plan.total_steps);
    optimizer_.step(lr);
    clear_gradients();
    train::release_heap_if_growing(heap_policy_);  // bounds what jemalloc keeps between steps
    // Sharded optimizer: each rank updated its own buckets; the owners hand out the new values.
    if (zero_stage_ > 0) share_updated_params(*comm_, s_.trainable, bucket_plan_);
    state_.step = step_number;
    state_.cursor = loader_.cursor();
    state_.tokens_seen += result.tokens;
    const double step_seconds = seconds_since(start);
    const double tokens_per_second = step_seconds > 0 ? double(result.tokens) / step_seconds : 0.0;
    const uint64_t memory = train::peak_rss_bytes();
    const double epoch = double(state_.cursor.epoch) +
                         double(state_.cursor.position) / double(std::max<size_t>(1, s_.train_data.samples.size()));
    if (metrics_) metrics_->write({{"step", state_.step},
                     {"epoch", epoch},
                     {"loss", result.loss},
                     {"lr", lr},
                     {"grad_norm", grad_norm},
                     {"tokens", result.tokens},
                     {"supervised_tokens", result.supervised_tokens},
                     {"tokens_per_second", tokens_per_second},
                     {"peak_memory_bytes", memory},
                     {"elapsed_seconds", elapsed + step_seconds}});
    progress_.step({state_.step, s_.plan.total_steps, result.loss, lr, grad_norm, tokens_per_second, memory,
                    step_seconds});
    last_loss_ = result.loss;
  }

  // A step whose loss or gradient norm is NaN/Inf: its gradients are dropped and its data consumed,
  // but the weights and the optimizer state stay as they were. Past train.max_nonfinite_steps such
  // steps, training stops with a checkpoint of the last good step so it can be resumed once the cause
  // is fixed (or the limit raised).
  void skip_nonfinite_step(int64_t step_number, const train::WindowResult& result, double grad_norm,
                           double elapsed) {
    clear_gradients();
    const std::string what = std::string(std::isfinite(result.loss) ? "gradient norm" : "loss") +
                             " is not finite (loss " + fixed(result.loss, 4) + ", grad norm " + fixed(grad_norm, 4) + ")";
    const int64_t limit = s_.recipe.train.max_nonfinite_steps;
    if (state_.nonfinite_skipped >= limit) {
      // The checkpoint holds the state before this step; an existing one of that step is kept as is.
      auto latest = train::latest_checkpoint(run_dir_);
      fs::path saved = latest && latest->step == state_.step ? latest->dir : save_checkpoint();
      progress_.finish();
      throw Error("step " + std::to_string(step_number) + ": " + what + "; " +
                  std::to_string(state_.nonfinite_skipped + 1) + " non-finite steps, more than train.max_nonfinite_steps (" +
                  std::to_string(limit) + "); stopped, checkpoint " + saved.string() +
                  ". Likely causes: train.lr too high (" + shortest(s_.recipe.train.lr) +
                  "), fp16 overflow (try model.dtype: bf16) or bad data: lower train.lr or check the data around step " +
                  std::to_string(step_number) + ", then resume with: " + resume_hint(command_));
    }
    state_.nonfinite_skipped += 1;
    const double lr = train::scheduled_lr(to_schedule(s_.recipe.train.lr_scheduler), s_.recipe.train.lr, state_.step,
                                          s_.plan.warmup_steps, s_.plan.total_steps);
    state_.step = step_number;
    state_.cursor = loader_.cursor();
    const double epoch = double(state_.cursor.epoch) +
                         double(state_.cursor.position) / double(std::max<size_t>(1, s_.train_data.samples.size()));
    // No "loss" key: readers of metrics.jsonl take rows with one as completed updates.
    if (metrics_) metrics_->write({{"step", state_.step},
                     {"epoch", epoch},
                     {"skipped", state_.nonfinite_skipped},
                     {"nonfinite", std::isfinite(result.loss) ? "grad_norm" : "loss"},
                     {"lr", lr},
                     {"tokens", result.tokens},
                     {"elapsed_seconds", elapsed}});
    progress_.message("warning: step " + std::to_string(step_number) + ": " + what +
                      "; skipped without updating the weights (" + std::to_string(state_.nonfinite_skipped) + " of " +
                      std::to_string(limit) + " allowed by train.max_nonfinite_steps)");
  }

  void evaluate(const std::string& when) {
    // Data parallel: each rank evaluates its share of the batches.
    train::EvalResult r = comm_ ? evaluate_sharded(*comm_, *s_.model, eval_batches_, s_.device)
                                : train::evaluate(*s_.model, eval_batches_, s_.device);
    double accuracy = r.supervised_tokens > 0 ? double(r.correct) / double(r.supervised_tokens) : 0.0;
    if (metrics_) metrics_->write({{"step", state_.step},
                     {"eval_loss", r.loss},
                     {"eval_perplexity", std::exp(r.loss)},
                     {"eval_token_accuracy", accuracy},
                     {"eval_tokens", r.supervised_tokens}});
    progress_.message("eval (" + when + "): loss " + fixed(r.loss, 4) + ", perplexity " + fixed(std::exp(r.loss), 2) +
                      ", token accuracy " + fixed(100 * accuracy, 1) + "% over " + std::to_string(r.supervised_tokens) +
                      " tokens");
  }

  // Rank 0 writes (every rank holds the same weights and data cursor); the others wait for it, so
  // no rank runs ahead of a checkpoint that may still fail. With sharded optimizer state every rank
  // writes its own share into the partial directory between two barriers, before rank 0 seals it.
  fs::path save_checkpoint() {
    fs::path dir = run_dir_ / ("checkpoint-" + std::to_string(state_.step));
    const auto rank_rng = comm_ ? gather_rng_states(*comm_, s_.device) : std::vector<std::vector<io::NamedTensor>>{};
    const std::optional<int> shard = optimizer_shard();
    if (world_.is_main()) {
      dir = train::write_checkpoint(run_dir_, state_.step, [&](const fs::path& partial) {
        write_checkpoint_files(partial, s_, optimizer_, state_, rank_rng, shard);
        if (shard) {
          comm_->barrier();  // the partial directory exists
          comm_->barrier();  // every rank's optimizer share is in it
        }
      });
      train::prune_checkpoints(run_dir_, s_.recipe.output.keep_last_n);
      progress_.message("saved " + dir.string());
    } else if (shard) {
      comm_->barrier();
      write_optimizer_state(train::partial_checkpoint_dir(run_dir_, state_.step), optimizer_, shard);
      comm_->barrier();
    }
    if (comm_) comm_->barrier();
    return dir;
  }

  void write_final_output() {
    if (s_.lora) {
      lora::save_peft_adapter(run_dir_, *s_.model, *s_.lora, s_.recipe.model.path);
      return;
    }
    std::vector<io::NamedTensor> tensors;
    for (const auto& item : s_.model->named_parameters(/*recurse=*/true)) tensors.push_back({item.key(), item.value()});
    model::LlamaConfig config = s_.config;
    config.torch_dtype = s_.dtype == at::kBFloat16 ? "bfloat16" : s_.dtype == at::kHalf ? "float16" : "float32";
    write_hf_model(run_dir_, tensors, config, s_.model_path);
  }

  void print_summary() const {
    std::string what = s_.lora ? "adapter (PEFT format)" : "model (Hugging Face format)";
    std::cout << "trained " << state_.step << " steps in " << train::format_duration(state_.elapsed_seconds)
              << "; final train loss " << fixed(last_loss_, 4);
    // From metrics.jsonl, so a resumed run still reports the loss before its first step.
    const auto evals = train::loss_series_from_metrics(metrics_->path()).eval;
    if (!evals.empty()) {
      std::cout << "; eval loss " << fixed(evals.front().second, 4) << " (step " << evals.front().first << ") -> "
                << fixed(evals.back().second, 4) << " (step " << evals.back().first << ")";
    }
    std::cout << "\n" << what << " written to " << run_dir_.string() << "/ (metrics.jsonl, loss.svg, run.json)\n";
  }

  const TrainCommand& command_;
  TrainingSetup& s_;
  std::unique_ptr<dist::Communicator> comm_;
  dist::WorldInfo world_;
  fs::path run_dir_;
  int zero_stage_;                 // 0 without data parallelism
  dist::BucketPlan bucket_plan_;   // how gradients travel and who owns what (data parallelism)
  train::AdamW optimizer_;         // this rank's share of the parameters at zero_stage > 0
  std::unique_ptr<GradientSync> gradient_sync_;
  data::BatchLoader loader_;
  train::ProgressReporter progress_;
  std::vector<data::Batch> eval_batches_;
  std::optional<train::MetricsLog> metrics_;
  TrainerState state_;
  double last_loss_ = NAN;
  const std::set<int64_t> poisoned_steps_ = test_poisoned_steps();
  train::HeapReleasePolicy heap_policy_;
};

}  // namespace

int run_train_command(const TrainCommand& command) {
  Recipe recipe = load_recipe(command.recipe_path, command.overrides);
  if (command.print_config) {
    std::cout << recipe_to_yaml(recipe);
    return 0;
  }
  // torchrun's variables (or --nproc's) make this process one rank of a data-parallel run.
  const dist::WorldInfo world = dist::world_from_env();
  std::unique_ptr<dist::Communicator> comm;
  if (world.distributed() && !command.dry_run) {
    comm = dist::Communicator::connect(world, std::chrono::seconds(recipe.train.dist_timeout_seconds),
                                       resolve_rank_device(recipe.model.device, world.local_rank));
  }
  auto log = [&world](const std::string& line) {
    if (world.is_main()) std::fprintf(stderr, "%s\n", line.c_str());
  };
  TrainingSetup setup = prepare_training(recipe, /*load_weights=*/!command.dry_run, world.local_rank, log);
  // A dry run of `--nproc N` runs in this one process but plans for N.
  const int ranks = world.distributed() ? world.world_size : std::max(1, command.nproc);
  if (ranks > 1) {
    // Steps count global batches: ranks x batch_size examples per micro-batch.
    TrainSection global = recipe.train;
    global.batch_size *= ranks;
    setup.plan = plan_steps(global, int64_t(setup.train_data.samples.size()));
  }
  if (command.dry_run) {
    print_dry_run(setup, std::cout, ranks);
    return 0;
  }
  Trainer trainer(command, setup, std::move(comm));
  return trainer.run();
}

}  // namespace llmft::recipes
