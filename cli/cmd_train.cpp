// `llmft train RECIPE.yaml [key=value ...] [--print-config] [--dry-run] [--resume [CHECKPOINT]]`.
#include <filesystem>

#include "cli/commands.h"
#include "recipes/training_run.h"

namespace llmft::cli {

void add_train_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("train", "Fine-tune a model (LoRA or full) from a YAML recipe");
  auto command = std::make_shared<recipes::TrainCommand>();
  auto resume = std::make_shared<std::string>();
  sub->add_option("recipe", command->recipe_path, "YAML recipe (docs/recipes.md)")->required();
  sub->add_option("overrides", command->overrides, "key=value overrides applied after the recipe, e.g. train.lr=1e-4");
  sub->add_flag("--print-config", command->print_config, "Print the resolved recipe as YAML and exit");
  sub->add_flag("--dry-run", command->dry_run,
                "Check model, adapters, tokenizer and data; print parameter counts and a memory estimate; exit");
  CLI::Option* resume_option =
      sub->add_option("--resume", *resume,
                      "Continue from a checkpoint: the newest complete one in output.dir, or the directory given")
          ->expected(0, 1);
  sub->footer(
      "Examples:\n"
      "  llmft train configs/quickstart.yaml\n"
      "  llmft train configs/quickstart.yaml train.lr=1e-4 lora.rank=8 --dry-run\n"
      "  llmft train configs/quickstart.yaml --resume\n"
      "Ctrl-C finishes the current step, saves a checkpoint and prints how to resume.");
  set_runner(sub, [command, resume, resume_option]() {
    if (resume_option->count() > 0) {
      // `--resume train.max_steps=200`: the option takes an optional value, so an override written
      // right after it lands here; it is an override, not a checkpoint directory.
      if (resume->find('=') != std::string::npos && !std::filesystem::exists(*resume)) {
        command->overrides.push_back(*resume);
        resume->clear();
      }
      command->resume = *resume;
    }
    command->context.command_line = command_line();
    command->context.llmft_version = LLMFT_VERSION;
#ifdef LLMFT_SOURCE_ROOT
    command->context.source_root = LLMFT_SOURCE_ROOT;
#endif
    return recipes::run_train_command(*command);
  });
}

}  // namespace llmft::cli
