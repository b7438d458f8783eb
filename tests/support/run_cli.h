#pragma once
// Runs the real `llmft` binary as a user would and captures its exit code, stdout and stderr.
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace llmft::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  // stderr split into non-empty lines
  std::vector<std::string> err_lines() const;
};

CliResult run_llmft(const std::vector<std::string>& args);

// Starts llmft, waits until `wait_for` appears in its stderr, sends `signal` to it, and waits for it
// to exit (as a user pressing Ctrl-C would). Fails with exit_code -1 if `wait_for` never appears
// within timeout_seconds (the process is then killed).
CliResult run_llmft_and_signal(const std::vector<std::string>& args, const std::string& wait_for, int signal,
                               double timeout_seconds = 120);

}  // namespace llmft::test
