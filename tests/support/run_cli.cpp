#include "tests/support/run_cli.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace llmft::test {
namespace fs = std::filesystem;

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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
  const fs::path out = fs::path(dir.path()) / "stdout";
  const fs::path err = fs::path(dir.path()) / "stderr";
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
  result.out = read_all(out);
  result.err = read_all(err);
  return result;
}

TempDir::TempDir(const std::string& prefix) {
  std::random_device rd;
  for (;;) {
    fs::path candidate = fs::temp_directory_path() / (prefix + "-" + std::to_string(rd()));
    if (fs::create_directory(candidate)) {
      path_ = candidate.string();
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

}  // namespace llmft::test
