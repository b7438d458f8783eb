#pragma once
// Runs the real `llmft` binary as a user would and captures its exit code, stdout and stderr.
#include <string>
#include <vector>

namespace llmft::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  // stderr split into non-empty lines
  std::vector<std::string> err_lines() const;
};

CliResult run_llmft(const std::vector<std::string>& args);

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace llmft::test
