// `llmft generate`: not implemented yet.
#include "cli/commands.h"

namespace llmft::cli {

void add_generate_command(CLI::App& app) {
  add_unavailable_command(app, "generate", "Generate text from a model",
                          "llmft generate --model merged --prompt \"Hello\"");
}

}  // namespace llmft::cli
