#pragma once
// Where this process sits in a multi-process run, read from the variables torchrun (and
// `llmft train --nproc`, Slurm or MPI wrappers that export the same names) set:
// RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
#include <cstdint>
#include <functional>
#include <string>

namespace llmft::dist {

struct WorldInfo {
  int rank = 0;              // 0 .. world_size-1, across every machine
  int world_size = 1;        // processes in the run
  int local_rank = 0;        // index on this machine (which GPU to use)
  int local_world_size = 1;  // processes on this machine
  std::string master_addr = "127.0.0.1";  // where rank 0 listens for the rendezvous
  int master_port = 29500;

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }  // the process that writes files and logs
  bool operator==(const WorldInfo&) const = default;
};

using EnvLookup = std::function<const char*(const char*)>;

// Without WORLD_SIZE (or with WORLD_SIZE=1) this is a single-process run. Otherwise RANK is
// required, the rest have torchrun's defaults (LOCAL_RANK = RANK, LOCAL_WORLD_SIZE = WORLD_SIZE,
// MASTER_ADDR 127.0.0.1, MASTER_PORT 29500). A malformed or out-of-range value is an llmft::Error
// naming the variable.
WorldInfo world_from_env(const EnvLookup& getenv);
WorldInfo world_from_env();  // the process environment
// "rank 1/4 (local 1/4), rendezvous at 127.0.0.1:29500"
std::string describe(const WorldInfo& world);

}  // namespace llmft::dist
