#pragma once
// Runs the real `llmft` binary as a user would and captures its exit code, stdout and stderr.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// How the child is started; the defaults change nothing.
struct RunOptions {
  // RLIMIT_FSIZE in bytes, with SIGXFSZ ignored: a write past it fails with EFBIG, which is what
  // the process sees when the disk fills up.
  std::optional<uint64_t> file_size_limit;
  // Variables set in the child's environment only.
  std::vector<std::pair<std::string, std::string>> env;
  // run_llmft_and_signal: how long to wait after `wait_for` appears before sending the signal.
  double signal_delay_seconds = 0;
};

CliResult run_llmft(const std::vector<std::string>& args, const RunOptions& options = {});

// Exit code, stdout and stderr in one block, for INFO() when a check on the run fails.
std::string describe(const CliResult& result);

// Starts llmft, waits until `wait_for` appears in its stderr, sends `signal` to it, and waits for it
// to exit (as a user pressing Ctrl-C would). Fails with exit_code -1 if `wait_for` never appears
// within timeout_seconds (the process is then killed).
CliResult run_llmft_and_signal(const std::vector<std::string>& args, const std::string& wait_for, int signal,
                               double timeout_seconds = 120, const RunOptions& options = {});

}  // namespace llmft::test
