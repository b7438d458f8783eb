// Subcommands whose implementation has not landed yet: they parse their documented usage and say
// plainly that they are not available, exiting 2 (never pretending to succeed).
#include <cstdio>
#include <string>

#include "cli/commands.h"

namespace llmft::cli {
namespace {
void add_unavailable(CLI::App& app, const std::string& name, const std::string& description,
                     const std::string& example) {
  CLI::App* sub = app.add_subcommand(name, description);
  sub->footer("Example:\n  " + example);
  sub->allow_extras();
  set_runner(sub, [name]() {
    std::fprintf(stderr, "llmft: error: 'llmft %s' is not yet available in this build\n", name.c_str());
    return 2;
  });
}
}  // namespace

void add_merge_command(CLI::App& app) {
  add_unavailable(app, "merge", "Fold a LoRA adapter into the base weights",
                  "llmft merge --base path/to/model --adapter out/adapter --out merged");
}
void add_eval_command(CLI::App& app) {
  add_unavailable(app, "eval", "Evaluate loss, perplexity and accuracy of a model on a dataset",
                  "llmft eval --model merged --data heldout.jsonl");
}
void add_generate_command(CLI::App& app) {
  add_unavailable(app, "generate", "Generate text from a model",
                  "llmft generate --model merged --prompt \"Hello\"");
}

}  // namespace llmft::cli
