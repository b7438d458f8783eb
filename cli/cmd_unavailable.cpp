// Subcommands whose implementation has not landed yet: they parse their documented usage and say
// plainly that they are not available, exiting 2 (never pretending to succeed).
#include <cstdio>
#include <string>

#include "cli/commands.h"

namespace llmft::cli {

void add_unavailable_command(CLI::App& app, const std::string& name, const std::string& description,
                             const std::string& example) {
  CLI::App* sub = app.add_subcommand(name, description);
  sub->footer("Example:\n  " + example);
  sub->allow_extras();
  set_runner(sub, [name]() {
    std::fprintf(stderr, "llmft: error: 'llmft %s' is not yet available in this build\n", name.c_str());
    return 2;
  });
}

}  // namespace llmft::cli
