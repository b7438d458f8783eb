#include "tests/support/run_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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
}  // namespace

std::string describe(const CliResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\nstdout:\n" + result.out + "\nstderr:\n" + result.err;
}

std::vector<std::string> CliResult::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

namespace {

// fork + exec of the llmft binary with stdin from /dev/null and stdout/stderr into files.
pid_t spawn_llmft(const std::vector<std::string>& args, const RunOptions& options, const fs::path& out,
                  const fs::path& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    for (const auto& [name, value] : options.env) setenv(name.c_str(), value.c_str(), /*overwrite=*/1);
    if (options.file_size_limit) {
      // Set after the output files are open: they are written by the child too and may pass the limit
      // only for bytes it writes there, which the tests keep small.
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit limit{rlim_t(*options.file_size_limit), rlim_t(*options.file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    std::vector<std::string> argv_storage{LLMFT_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

CliResult run_llmft(const std::vector<std::string>& args, const RunOptions& options) {
  TempDir dir("llmft-cli");
  const fs::path out = dir.path / "stdout";
  const fs::path err = dir.path / "stderr";
  const pid_t pid = spawn_llmft(args, options, out, err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CliResult result;
  result.exit_code = exit_code(status);
  result.out = read_file_bytes(out);
  result.err = read_file_bytes(err);
  return result;
}

CliResult run_llmft_and_signal(const std::vector<std::string>& args, const std::string& wait_for, int signal,
                               double timeout_seconds, const RunOptions& options) {
  TempDir dir("llmft-cli");
  const fs::path out = dir.path / "stdout";
  const fs::path err = dir.path / "stderr";
  const pid_t pid = spawn_llmft(args, options, out, err);
  CliResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  bool signalled = false;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (!signalled && read_file_bytes(err).find(wait_for) != std::string::npos) {
      if (options.signal_delay_seconds > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(options.signal_delay_seconds));
      }
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
    // Short enough that a signal lands close to the line it waits for.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  result.exit_code = exit_code(status);
  result.out = read_file_bytes(out);
  result.err = read_file_bytes(err);
  return result;
}

}  // namespace llmft::test
