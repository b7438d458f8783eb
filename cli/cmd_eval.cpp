// `llmft eval`: not implemented yet.
#include "cli/commands.h"

namespace llmft::cli {

void add_eval_command(CLI::App& app) {
  add_unavailable_command(app, "eval", "Evaluate loss, perplexity and accuracy of a model on a dataset",
                          "llmft eval --model merged --data heldout.jsonl");
}

}  // namespace llmft::cli
