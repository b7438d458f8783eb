// `llmft train RECIPE.yaml [key=value ...] [--print-config] [--dry-run] [--resume [CHECKPOINT]]`.
#include <filesystem>

#include "cli/commands.h"
#include "dist/launcher.h"
#include "dist/world.h"
#include "io/error.h"
#include "recipes/recipe_config.h"
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
  auto nproc = std::make_shared<int>(1);
  sub->add_option("--nproc", *nproc,
                  "Data-parallel training with N processes on this machine (each with train.batch_size); "
                  "for several machines use torchrun's variables instead (docs/distributed.md)")
      ->check(CLI::Range(1, 1024));
  sub->footer(
      "Examples:\n"
      "  llmft train configs/quickstart.yaml\n"
      "  llmft train configs/quickstart.yaml train.lr=1e-4 lora.rank=8 --dry-run\n"
      "  llmft train configs/quickstart.yaml --resume\n"
      "  llmft train configs/quickstart.yaml --nproc 4\n"
      "Ctrl-C finishes the current step, saves a checkpoint and prints how to resume.");
  set_runner(sub, [command, resume, resume_option, nproc]() {
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
    command->nproc = *nproc;
    if (*nproc > 1 && !command->dry_run && !command->print_config) {
      if (dist::world_from_env().distributed())
        throw Error("--nproc " + std::to_string(*nproc) + " inside a launcher that already set WORLD_SIZE: use one or the other");
      // A recipe mistake is reported once, here, rather than once by every rank.
      recipes::load_recipe(command->recipe_path, command->overrides);
      // The same command for every rank, without --nproc.
      std::vector<std::string> args{"train", command->recipe_path.string()};
      args.insert(args.end(), command->overrides.begin(), command->overrides.end());
      if (command->resume) {
        args.push_back("--resume");
        if (!command->resume->empty()) args.push_back(*command->resume);
      }
      dist::LaunchOptions options;
      options.nproc = *nproc;
      return dist::launch_local(std::filesystem::read_symlink("/proc/self/exe").string(), args, options);
    }
    return recipes::run_train_command(*command);
  });
}

}  // namespace llmft::cli
