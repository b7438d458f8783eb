// llmft inspect PATH: what is inside a checkpoint (filled in with io/ and model/).
#include "cli/commands.h"

namespace llmft::cli {
void add_inspect_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("inspect", "Show what is inside a checkpoint");
  static std::string path;
  sub->add_option("path", path, "Model directory or .safetensors file")->required();
  set_runner(sub, []() { return 2; });
}
}  // namespace llmft::cli
