// `llmft eval --model M [--adapter DIR] --data FILE [...]`: loss, perplexity and token accuracy over
// a dataset's supervised tokens, or a multiple-choice task scored by log-likelihood (docs/eval.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "data/tokenizer_loader.h"
#include "eval/eval_loss.h"
#include "eval/eval_prompts.h"
#include "eval/eval_report.h"
#include "eval/multiple_choice.h"
#include "io/dtype.h"
#include "io/error.h"
#include "io/model_locator.h"
#include "lora/adapted_model.h"
#include "recipes/recipe_config.h"
#include "recipes/train_setup.h"

namespace llmft::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string adapter;
  std::string data;
  std::string task = "auto";
  std::string format = "chat";
  std::string templates;             // comma-separated; empty = "auto"
  std::vector<std::string> systems;  // one variant per prompt
  int64_t max_seq_len = 2048;
  int64_t batch_size = 8;
  int64_t limit = 0;  // first N examples / items; 0 = all
  std::string dtype = "fp32";
  std::string device = "auto";
  bool json = false;
};

data::RecordFormat parse_format(const std::string& text) {
  if (text == "text") return data::RecordFormat::kText;
  if (text == "alpaca") return data::RecordFormat::kAlpaca;
  if (text == "chat") return data::RecordFormat::kChat;
  if (text == "sharegpt") return data::RecordFormat::kShareGpt;
  throw Error("--format: '" + text + "' is not one of text, alpaca, chat, sharegpt");
}

// "label: done/total" on stderr: redrawn in place on a terminal, else a line per tenth of the work.
std::function<void(int64_t, int64_t)> progress_printer(const std::string& label) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto last_tenth = std::make_shared<int64_t>(-1);
  return [label, tty, last_tenth](int64_t done, int64_t total) {
    if (tty) {
      std::fprintf(stderr, "\r%s: %lld/%lld", label.c_str(), (long long)done, (long long)total);
      if (done >= total) std::fputc('\n', stderr);
    } else {
      const int64_t tenth = total > 0 ? done * 10 / total : 10;
      if (tenth == *last_tenth) return;
      *last_tenth = tenth;
      std::fprintf(stderr, "%s: %lld/%lld\n", label.c_str(), (long long)done, (long long)total);
    }
    std::fflush(stderr);
  };
}

int run_mc(const EvalOptions& o, lora::AdaptedModel& m, const data::Tokenizer& tokenizer, c10::Device device) {
  if (!o.templates.empty() || !o.systems.empty())
    throw Error("--template and --system apply to loss evaluation, not to a multiple-choice task (" + o.data + ")");
  auto items = eval::load_mc_task(o.data);
  if (o.limit > 0 && int64_t(items.size()) > o.limit) items.resize(size_t(o.limit));
  const eval::McResult result = eval::score_multiple_choice(*m.model, tokenizer, items, {o.batch_size, o.max_seq_len},
                                                            device, progress_printer("scoring choices"));
  if (o.json) {
    std::cout << eval::mc_json(result).dump() << "\n";
  } else {
    std::cout << "multiple choice: " << o.data << "\n" << eval::format_mc_summary(result);
  }
  return 0;
}

int run_loss(const EvalOptions& o, lora::AdaptedModel& m, const data::Tokenizer& tokenizer, c10::Device device) {
  data::DatasetOptions dataset_options;
  dataset_options.path = o.data;
  dataset_options.format = parse_format(o.format);
  dataset_options.max_seq_len = o.max_seq_len;
  dataset_options.train_on_prompt = false;
  const int32_t pad_id = tokenizer.pad_id().value_or(tokenizer.eos_id().value_or(0));
  std::vector<eval::LossRun> runs;
  for (const auto& variant : eval::prompt_variants(o.templates, o.systems)) {
    data::TokenizedDataset dataset = eval::load_variant(dataset_options, variant, tokenizer);
    if (o.limit > 0 && int64_t(dataset.samples.size()) > o.limit) dataset.samples.resize(size_t(o.limit));
    if (dataset.samples.empty()) throw Error(o.data + ": no example with a supervised token to evaluate");
    eval::LossRun run{variant, dataset.template_used, dataset.stats.truncated, dataset.stats.dropped, {}};
    const std::string label = "eval " + (variant.label() == "auto" ? dataset.template_used : variant.label());
    run.metrics = eval::evaluate_loss(*m.model, dataset, o.batch_size, pad_id, device, progress_printer(label));
    runs.push_back(std::move(run));
  }
  if (o.json) {
    std::cout << eval::loss_json(runs).dump() << "\n";
  } else {
    std::cout << "eval: " << o.data << "\n" << eval::format_loss_table(runs);
  }
  return 0;
}

int run_eval(const EvalOptions& o) {
  if (!std::filesystem::is_regular_file(o.data)) throw Error("--data: " + o.data + ": no such file");
  if (o.batch_size < 1) throw Error("--batch-size must be at least 1");
  if (o.max_seq_len < 2) throw Error("--max-seq-len must be at least 2");
  std::string task = o.task;
  if (task == "auto") task = eval::looks_like_mc_task(o.data) ? "mc" : "loss";
  if (task != "loss" && task != "mc") throw Error("--task: '" + o.task + "' is not one of auto, loss, mc");

  const c10::Device device = recipes::resolve_device(recipes::parse_device(o.device));
  const c10::ScalarType dtype = io::parse_compute_dtype(o.dtype, "--dtype");
  const std::filesystem::path model_path = io::resolve_model_path(o.model);
  const auto tokenizer = data::load_tokenizer(model_path);
  std::optional<std::filesystem::path> adapter;
  if (!o.adapter.empty()) adapter = o.adapter;
  std::fprintf(stderr, "loading %s%s\n", model_path.string().c_str(),
               adapter ? (" with adapter " + adapter->string()).c_str() : "");
  lora::AdaptedModel m = lora::load_adapted_model(o.model, adapter, dtype, device);
  return task == "mc" ? run_mc(o, m, *tokenizer, device) : run_loss(o, m, *tokenizer, device);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("eval", "Evaluate loss, perplexity and accuracy of a model on a dataset");
  auto o = std::make_shared<EvalOptions>();
  sub->add_option("--model", o->model, "HF model directory, .safetensors, .gguf, or 'smollm2-135m'")->required();
  sub->add_option("--adapter", o->adapter, "PEFT adapter directory applied on top (not merged)");
  sub->add_option("--data", o->data, "JSONL/JSON records (docs/data.md) or a multiple-choice task")->required();
  sub->add_option("--task", o->task, "loss | mc | auto (mc when records have context, choices and gold)")
      ->capture_default_str();
  sub->add_option("--format", o->format, "Record format: text | alpaca | chat | sharegpt")->capture_default_str();
  sub->add_option("--template", o->templates,
                  "Prompt template, or a comma-separated list compared side by side (auto, chatml, alpaca, none)");
  sub->add_option("--system", o->systems, "System prompt for chat records; repeat to compare several");
  sub->add_option("--max-seq-len", o->max_seq_len, "Longest example in tokens (truncated beyond)")
      ->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Examples (or choices) per forward pass")->capture_default_str();
  sub->add_option("--limit", o->limit, "Evaluate only the first N examples or items (0 = all)")->capture_default_str();
  sub->add_option("--dtype", o->dtype, "Compute dtype: fp32 | bf16 | fp16")->capture_default_str();
  sub->add_option("--device", o->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object on stdout instead of the table");
  sub->footer(
      "Examples:\n"
      "  llmft eval --model smollm2-135m --data heldout.jsonl\n"
      "  llmft eval --model smollm2-135m --adapter out/adapter --data heldout.jsonl --json\n"
      "  llmft eval --model smollm2-135m --data heldout.jsonl --system 'Be brief.' --system 'Explain.'\n"
      "  llmft eval --model smollm2-135m --data alpaca.jsonl --format alpaca --template alpaca,chatml\n"
      "  llmft eval --model smollm2-135m --data wordnet_mc.jsonl        # multiple choice: acc, acc_norm\n"
      "Progress goes to stderr; results to stdout.");
  set_runner(sub, [o]() { return run_eval(*o); });
}

}  // namespace llmft::cli
