#include "tests/support/run_cli.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace llmft::test {
namespace fs = std::filesystem;

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::vector<std::string> CliResult::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

CliResult run_llmft(const std::vector<std::string>& args) {
  TempDir dir("llmft-cli");
  const fs::path out = dir.path / "stdout";
  const fs::path err = dir.path / "stderr";
  std::string command = shell_quote(LLMFT_BINARY);
  // Appended piecewise: GCC 12 at -O3 misreports operator+ chains here (-Wstringop-overflow).
  for (const auto& a : args) {
    command += ' ';
    command += shell_quote(a);
  }
  command += " </dev/null >";
  command += shell_quote(out.string());
  command += " 2>";
  command += shell_quote(err.string());
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file_bytes(out);
  result.err = read_file_bytes(err);
  return result;
}

}  // namespace llmft::test
