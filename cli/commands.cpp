#include "cli/commands.h"

#include <map>
#include <sstream>

#include <torch/cuda.h>
#include <torch/version.h>

namespace llmft::cli {
namespace {
std::map<CLI::App*, CommandRunner>& runners() {
  static std::map<CLI::App*, CommandRunner> table;
  return table;
}
}  // namespace

void set_runner(CLI::App* sub, CommandRunner runner) { runners()[sub] = std::move(runner); }

void register_commands(CLI::App& app) {
  add_train_command(app);
  add_merge_command(app);
  add_eval_command(app);
  add_generate_command(app);
  add_inspect_command(app);
  add_convert_command(app);
  add_data_command(app);
}

int run_selected(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = runners().find(sub);
    if (it != runners().end()) return it->second();
  }
  return 2;
}

namespace {
std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void set_command_line(int argc, char** argv) { stored_command_line().assign(argv, argv + argc); }
const std::vector<std::string>& command_line() { return stored_command_line(); }

std::string version_text() {
  std::ostringstream out;
  out << "llmft " << LLMFT_VERSION << "\n"
      << "libtorch " << TORCH_VERSION << " (" << LLMFT_TORCH_SOURCE << ")\n"
      << "CUDA: " << (torch::cuda::is_available()
                          ? "available, " + std::to_string(torch::cuda::device_count()) + " device(s)"
                          : std::string("not available"))
      << "\nallocator: " << allocator_name();
  return out.str();
}

}  // namespace llmft::cli
