// llmft: the command-line entry point. Registers one subcommand per cli/cmd_<name>.cpp and maps
// user-facing errors (llmft::Error) to a single line on stderr and exit code 2.
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "io/error.h"

int main(int argc, char** argv) {
  CLI::App app{"llmft: fine-tune large language models (LoRA and full) from the command line"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", llmft::cli::version_text());
  app.footer(
      "Examples:\n"
      "  llmft train configs/quickstart.yaml train.lr=1e-4 lora.rank=8\n"
      "  llmft inspect path/to/model_dir\n"
      "  llmft convert model.gguf --out model_hf\n"
      "  llmft merge --base path/to/model --adapter out/adapter --out merged\n"
      "  llmft eval --model merged --data heldout.jsonl\n"
      "  llmft generate --model merged --prompt \"Hello\"\n"
      "Run 'llmft <command> --help' for a command's options.");

  llmft::cli::set_command_line(argc, argv);
  llmft::cli::register_commands(app);

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
    return llmft::cli::run_selected(app);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help and --version print and succeed
    // A usage mistake (unknown flag, missing or malformed option) is one error line and exit 2,
    // like every other user-facing error, rather than CLI11's two lines and its own exit codes.
    std::fprintf(stderr, "llmft: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const llmft::Error& e) {
    std::fprintf(stderr, "llmft: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // A libtorch or library exception that escaped our validation: still one line, exit 2.
    std::string message = e.what();
    const auto newline = message.find('\n');
    if (newline != std::string::npos) message.resize(newline);
    std::fprintf(stderr, "llmft: internal error: %s\n", message.c_str());
    return 2;
  }
}
