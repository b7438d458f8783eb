#include "dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "io/error.h"

namespace llmft::dist {
namespace {

// The ranks' pids, for the signal handler (async-signal-safe: a fixed array and kill()).
constexpr int kMaxLocalRanks = 1024;
volatile pid_t g_ranks[kMaxLocalRanks];
volatile int g_rank_count = 0;
volatile sig_atomic_t g_user_signal = 0;  // the ranks were sent a SIGINT/SIGTERM from outside

void send_to_ranks(int signal) {
  for (int i = 0; i < g_rank_count; ++i)
    if (g_ranks[i] > 0) kill(g_ranks[i], signal);
}

void forward_signal(int signal) {
  g_user_signal = 1;
  send_to_ranks(signal);
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--nproc: cannot open a socket to find a free port: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string problem = std::strerror(errno);
    close(fd);
    throw Error("--nproc: cannot find a free port on 127.0.0.1: " + problem);
  }
  close(fd);
  return ntohs(address.sin_port);
}

int launch_local(const std::string& executable, const std::vector<std::string>& args, const LaunchOptions& options) {
  if (options.nproc < 1 || options.nproc > kMaxLocalRanks)
    throw Error("--nproc must be in [1, " + std::to_string(kMaxLocalRanks) + "], got " + std::to_string(options.nproc));
  const int port = options.master_port > 0 ? options.master_port : free_local_port();

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(executable.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  struct sigaction forward {}, old_int {}, old_term {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  g_rank_count = 0;
  g_user_signal = 0;
  for (int rank = 0; rank < options.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      send_to_ranks(SIGKILL);
      throw Error(std::string("--nproc: cannot start rank ") + std::to_string(rank) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
      setpgid(0, 0);  // its own group: a terminal's Ctrl-C reaches it only through the supervisor
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      execv(executable.c_str(), argv.data());
      std::fprintf(stderr, "llmft: rank %d: cannot run %s: %s\n", rank, executable.c_str(), std::strerror(errno));
      _exit(127);
    }
    g_ranks[g_rank_count] = pid;
    g_rank_count = g_rank_count + 1;
  }

  int result = 0;
  int running = options.nproc;
  bool stopping = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pid == 0) {  // stopping, nobody exited yet
      if (std::chrono::steady_clock::now() > deadline) send_to_ranks(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int rank = -1;
    for (int i = 0; i < g_rank_count; ++i)
      if (g_ranks[i] == pid) {
        rank = i;
        g_ranks[i] = 0;
      }
    if (rank < 0) continue;
    --running;
    if (status_code(status) != 0 && result == 0) {
      result = status_code(status);
      // After a forwarded Ctrl-C every rank exits 130 on its own, rank 0 once its checkpoint is
      // written: a second signal would cut that short.
      if (running > 0 && !stopping && !g_user_signal) {
        std::fprintf(stderr, "llmft: rank %d %s; stopping the other %d rank(s)\n", rank, describe_status(status).c_str(),
                     running);
        send_to_ranks(SIGTERM);
        stopping = true;
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.grace_seconds);
      }
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_rank_count = 0;
  return result;
}

}  // namespace llmft::dist
