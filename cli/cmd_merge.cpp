// `llmft merge`: not implemented yet.
#include "cli/commands.h"

namespace llmft::cli {

void add_merge_command(CLI::App& app) {
  add_unavailable_command(app, "merge", "Fold a LoRA adapter into the base weights",
                          "llmft merge --base path/to/model --adapter out/adapter --out merged");
}

}  // namespace llmft::cli
