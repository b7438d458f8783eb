// `llmft data inspect RECIPE.yaml [key=value ...]`: the recipe's data tokenized exactly as training
// tokenizes it (same tokenizer, template, masking, truncation, split), without loading the model's
// weights; prints counts, token lengths and examples with their masked spans marked.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "data/tokenizer_loader.h"
#include "io/error.h"
#include "io/model_locator.h"
#include "recipes/data_inspect.h"
#include "recipes/recipe_config.h"
#include "recipes/train_setup.h"

namespace llmft::cli {
namespace {

struct DataInspectOptions {
  std::string recipe_path;
  std::vector<std::string> overrides;
  int64_t samples = 2;
  bool json = false;
};

std::string percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

// Dimmed on a terminal (unless NO_COLOR is set, per no-color.org); ⟦ ⟧ everywhere else.
recipes::MarkStyle mark_style() {
  const bool tty = isatty(STDOUT_FILENO) != 0;
  const char* no_color = std::getenv("NO_COLOR");
  return tty && (no_color == nullptr || *no_color == '\0') ? recipes::MarkStyle::kDim
                                                          : recipes::MarkStyle::kBrackets;
}

void print_report(const recipes::DatasetReport& r, recipes::MarkStyle style, bool split_counts) {
  const auto& s = r.stats;
  std::cout << r.name << " data: " << r.path << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"template", r.template_used},
      {"records", format_count(s.records)},
      {"examples kept", format_count(r.examples)},
      {"truncated", format_count(s.truncated) + " (" + percent(r.truncated_percent) + ", to max_seq_len " +
                        format_count(r.max_seq_len) + ")" + (split_counts ? ", whole file before the split" : "")},
      {"dropped", format_count(s.dropped) + " (no supervised token, or too long to keep)" +
                      (split_counts ? ", whole file before the split" : "")},
      {"skipped", format_count(s.skipped) + " (records that could not be read)"},
      {"tokens", format_count(s.tokens)},
      {"supervised", format_count(s.supervised_tokens) + " (" + percent(r.supervised_percent) + " of tokens)"},
  };
  if (r.lengths.count > 0) {
    char mean[32];
    std::snprintf(mean, sizeof mean, "%.1f", r.lengths.mean);
    rows.push_back({"length", "min " + format_count(r.lengths.min) + ", median " + format_count(r.lengths.median) +
                                  ", p95 " + format_count(r.lengths.p95) + ", max " + format_count(r.lengths.max) +
                                  ", mean " + mean + " tokens"});
  }
  if (!r.cache_note.empty()) rows.push_back({"token cache", r.cache_note});
  std::cout << format_table(rows);
  for (const auto& reason : s.skip_examples) std::cout << "  skipped: " << reason << "\n";
  if (!r.histogram.empty()) {
    const int64_t upper = r.histogram.back().hi;
    std::cout << "  token lengths (examples per bin"
              << (upper < r.max_seq_len ? ", none longer than " + format_count(upper) + "; max_seq_len " +
                                              format_count(r.max_seq_len)
                                        : "")
              << "):\n"
              << recipes::format_histogram(r.histogram);
  }
  for (std::size_t i = 0; i < r.samples.size(); ++i) {
    const auto& sample = r.samples[i];
    std::cout << "  sample " << i + 1 << " of " << r.samples.size() << ": example " << sample.index << " ("
              << sample.tokens << " tokens, " << sample.supervised_tokens << " supervised)\n";
    // Indented so the example's own line breaks stay readable inside the report.
    const std::string text = recipes::render_marked(sample.spans, style);
    std::string line = "    ";
    for (char c : text) {
      line += c;
      if (c == '\n') {
        std::cout << line;
        line = "    ";
      }
    }
    std::cout << line << "\n";
  }
}

int run_data_inspect(const DataInspectOptions& o) {
  if (o.samples < 0) throw Error("--samples must be at least 0, got " + std::to_string(o.samples));
  const recipes::Recipe recipe = recipes::load_recipe(o.recipe_path, o.overrides);
  const std::filesystem::path model_path = io::resolve_model_path(recipe.model.path);
  const auto tokenizer = data::load_tokenizer(model_path);
  const auto log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const recipes::TrainingData data = recipes::load_training_data(recipe, *tokenizer, log);

  const bool split = recipe.data.eval_split.has_value();
  recipes::ReportOptions options;
  options.max_seq_len = recipe.data.max_seq_len;
  options.samples = o.samples;
  options.seed = uint64_t(recipe.train.seed);
  options.name = "train";
  options.path = recipe.data.path;
  options.split_sibling_examples = split && data.eval ? int64_t(data.eval->samples.size()) : 0;
  const recipes::DatasetReport train = recipes::inspect_dataset(data.train, *tokenizer, options);
  std::optional<recipes::DatasetReport> eval;
  if (data.eval) {
    options.name = "eval";
    options.path = recipe.data.eval_path.value_or(recipe.data.path);
    options.split_sibling_examples = 0;
    eval = recipes::inspect_dataset(*data.eval, *tokenizer, options);
  }

  if (o.json) {
    nlohmann::json out = {{"recipe", o.recipe_path},
                          {"model", model_path.string()},
                          {"vocab_size", tokenizer->vocab_size()},
                          {"seed", recipe.train.seed},
                          {"eval_split", split ? nlohmann::json(*recipe.data.eval_split) : nlohmann::json(nullptr)},
                          {"train", recipes::report_json(train)},
                          {"eval", eval ? recipes::report_json(*eval) : nlohmann::json(nullptr)}};
    std::cout << out.dump() << "\n";
    return 0;
  }
  const recipes::MarkStyle style = mark_style();
  std::cout << "recipe: " << o.recipe_path << "\n"
            << "tokenizer: " << model_path.string() << " (" << format_count(tokenizer->vocab_size())
            << " tokens)\n"
            << "masked (label -100, not trained on): "
            << recipes::render_marked({{"like this", true}}, style) << "; the rest is supervised\n\n";
  print_report(train, style, split);
  if (eval) {
    std::cout << "\n";
    print_report(*eval, style, false);
  }
  return 0;
}

}  // namespace

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Look at training data as llmft tokenizes it");
  data->require_subcommand(1);
  auto o = std::make_shared<DataInspectOptions>();
  CLI::App* inspect = data->add_subcommand(
      "inspect", "Counts, token lengths and rendered examples of a recipe's data, tokenized as training does");
  inspect->add_option("recipe", o->recipe_path, "YAML recipe (docs/recipes.md)")->required();
  inspect->add_option("overrides", o->overrides, "key=value overrides applied after the recipe, e.g. data.max_seq_len=512");
  inspect->add_option("--samples", o->samples, "Examples to render: the first, then ones drawn with train.seed")
      ->capture_default_str();
  inspect->add_flag("--json", o->json, "Print one JSON object on stdout instead of the report");
  inspect->footer(
      "Examples:\n"
      "  llmft data inspect configs/quickstart.yaml\n"
      "  llmft data inspect configs/quickstart.yaml data.max_seq_len=64 --samples 4\n"
      "  llmft data inspect configs/quickstart.yaml --json\n"
      "Loads the tokenizer and the data, never the model's weights. Progress goes to stderr.");
  // The registry runs top-level commands; `data` passes on to the subcommand given.
  set_runner(data, [o, inspect]() { return inspect->parsed() ? run_data_inspect(*o) : 2; });
}

}  // namespace llmft::cli
