#pragma once
// Subcommand registration. Each cli/cmd_<name>.cpp provides add_<name>_command(app), which adds the
// subcommand, its options and a callback stored in the registry; run_selected() runs the one given.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace llmft::cli {

using CommandRunner = std::function<int()>;

// Remembers what to run when `sub` was selected on the command line.
void set_runner(CLI::App* sub, CommandRunner runner);

void register_commands(CLI::App& app);
int run_selected(CLI::App& app);
// "jemalloc 5.3.0-0-g..." or "glibc malloc": the heap allocator this process runs with.
std::string allocator_name();
std::string version_text();
// argv as given, kept for run records (run.json).
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// A subcommand whose implementation has not landed: parses anything, says so, exits 2.
void add_unavailable_command(CLI::App& app, const std::string& name, const std::string& description,
                             const std::string& example);

void add_train_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_data_command(CLI::App& app);

}  // namespace llmft::cli
