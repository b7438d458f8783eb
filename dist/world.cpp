#include "dist/world.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "io/error.h"

namespace llmft::dist {
namespace {

// The whole of `text` as a decimal integer in [low, high], or an Error naming the variable.
int parse_int(const char* name, const char* text, int low, int high) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE)
    throw Error(std::string("environment variable ") + name + "='" + text + "' is not an integer");
  if (value < low || value > high)
    throw Error(std::string("environment variable ") + name + "=" + text + " must be in [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  return static_cast<int>(value);
}

}  // namespace

WorldInfo world_from_env(const EnvLookup& getenv) {
  WorldInfo w;
  const char* world_size = getenv("WORLD_SIZE");
  if (!world_size || !*world_size) return w;
  constexpr int kMaxInt = std::numeric_limits<int>::max();
  w.world_size = parse_int("WORLD_SIZE", world_size, 1, kMaxInt);
  if (!w.distributed()) return w;

  const char* rank = getenv("RANK");
  if (!rank || !*rank) throw Error("environment variable RANK is not set but WORLD_SIZE=" + std::string(world_size) +
                                   " is (set both, as torchrun does)");
  w.rank = parse_int("RANK", rank, 0, w.world_size - 1);
  const char* local_world = getenv("LOCAL_WORLD_SIZE");
  w.local_world_size = local_world && *local_world ? parse_int("LOCAL_WORLD_SIZE", local_world, 1, w.world_size)
                                                   : w.world_size;
  const char* local_rank = getenv("LOCAL_RANK");
  w.local_rank = local_rank && *local_rank ? parse_int("LOCAL_RANK", local_rank, 0, w.local_world_size - 1)
                                           : w.rank % w.local_world_size;
  if (const char* addr = getenv("MASTER_ADDR"); addr && *addr) w.master_addr = addr;
  if (const char* port = getenv("MASTER_PORT"); port && *port) w.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  return w;
}

WorldInfo world_from_env() {
  return world_from_env([](const char* name) { return std::getenv(name); });
}

std::string describe(const WorldInfo& w) {
  return "rank " + std::to_string(w.rank) + "/" + std::to_string(w.world_size) + " (local " +
         std::to_string(w.local_rank) + "/" + std::to_string(w.local_world_size) + "), rendezvous at " +
         w.master_addr + ":" + std::to_string(w.master_port);
}

}  // namespace llmft::dist
