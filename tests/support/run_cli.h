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

}  // namespace llmft::test
