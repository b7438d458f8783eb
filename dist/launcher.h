#pragma once
// `llmft train --nproc N`: runs N copies of this program on this machine as the ranks of one
// data-parallel run, with torchrun's variables set (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT), and supervises them. Multi-machine runs use torchrun, Slurm or MPI
// instead, which set the same variables (docs/distributed.md).
#include <string>
#include <vector>

namespace llmft::dist {

struct LaunchOptions {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;        // 0: a free port on this machine
  int grace_seconds = 30;     // after one rank fails: how long the others get to stop before SIGKILL
};

// Starts `executable args...` N times, each in its own process group, so a Ctrl-C reaches the
// ranks once, through this supervisor: SIGINT/SIGTERM are forwarded to every rank. When a rank
// fails, the others are sent SIGTERM (then SIGKILL after the grace period), and a line naming the
// rank and its status goes to stderr. Returns 0 when every rank succeeded, else the first failing
// rank's exit status (128 + signal for a rank killed by a signal).
int launch_local(const std::string& executable, const std::vector<std::string>& args, const LaunchOptions& options);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int free_local_port();

}  // namespace llmft::dist
