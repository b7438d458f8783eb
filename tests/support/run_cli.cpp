#include "tests/support/run_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace llmft::test {
namespace fs = std::filesystem;

namespace {

// The token cache of everything the tests run (in process and the llmft binary) goes into the
// build folder instead of the user's ~/.cache, unless the caller chose a folder.
[[maybe_unused]] const bool kTestCacheDir = [] {
  const fs::path dir = fs::path(LLMFT_BINARY).parent_path() / "test-cache";
  return setenv("LLMFT_CACHE_DIR", dir.c_str(), /*overwrite=*/0) == 0;
}();
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

CliResult run_llmft_and_signal(const std::vector<std::string>& args, const std::string& wait_for, int signal,
                               double timeout_seconds) {
  TempDir dir("llmft-cli");
  const fs::path out = dir.path / "stdout";
  const fs::path err = dir.path / "stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    std::vector<std::string> argv_storage{LLMFT_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  CliResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  bool signalled = false;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (!signalled && read_file_bytes(err).find(wait_for) != std::string::npos) {
      kill(pid, signal);
      signalled = true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.out = read_file_bytes(out);
      result.err = read_file_bytes(err);
      return result;  // exit_code -1
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file_bytes(out);
  result.err = read_file_bytes(err);
  return result;
}

}  // namespace llmft::test
