// dist::world_from_env: torchrun's variables -> WorldInfo, with one-line errors naming the variable.
#include <map>
#include <string>

#include "dist/communicator.h"
#include "dist/world.h"
#include "io/error.h"
#include "tests/support/catch.h"

using llmft::dist::world_from_env;
using llmft::dist::WorldInfo;
using llmft::test::Contains;

namespace {

llmft::dist::EnvLookup env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_CASE("world_from_env: no WORLD_SIZE is a single process", "[dist]") {
  const WorldInfo w = world_from_env(env({}));
  CHECK_FALSE(w.distributed());
  CHECK(w.is_main());
  CHECK(world_from_env(env({{"WORLD_SIZE", "1"}, {"RANK", "0"}})) == WorldInfo{});
}

TEST_CASE("world_from_env: torchrun's variables and their defaults", "[dist]") {
  const WorldInfo w = world_from_env(env({{"WORLD_SIZE", "8"}, {"RANK", "5"}, {"LOCAL_RANK", "1"},
                                          {"LOCAL_WORLD_SIZE", "4"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "1234"}}));
  CHECK(w.world_size == 8);
  CHECK(w.rank == 5);
  CHECK(w.local_rank == 1);
  CHECK(w.local_world_size == 4);
  CHECK(w.master_addr == "node0");
  CHECK(w.master_port == 1234);
  CHECK_FALSE(w.is_main());
  CHECK(llmft::dist::describe(w) == "rank 5/8 (local 1/4), rendezvous at node0:1234");

  const WorldInfo d = world_from_env(env({{"WORLD_SIZE", "4"}, {"RANK", "3"}}));
  CHECK(d.local_rank == 3);
  CHECK(d.local_world_size == 4);
  CHECK(d.master_addr == "127.0.0.1");
  CHECK(d.master_port == 29500);
}

TEST_CASE("world_from_env: malformed values name the variable", "[dist]") {
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "two"}})), Contains("WORLD_SIZE='two' is not an integer"));
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "0"}})), Contains("WORLD_SIZE=0 must be in [1,"));
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "2"}})), Contains("RANK is not set"));
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "2"}, {"RANK", "2"}})), Contains("RANK=2 must be in [0, 1]"));
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_PORT", "70000"}})),
                    Contains("MASTER_PORT=70000"));
  CHECK_THROWS_WITH(world_from_env(env({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"LOCAL_RANK", "-1"}})),
                    Contains("LOCAL_RANK=-1"));
}

TEST_CASE("Communicator: without Gloo, connecting says what is missing", "[dist]") {
  // scripts/install-deps.sh installs libgloo-dev, and CMake's probe checks that c10d compiles with it.
  if (llmft::dist::Communicator::available()) {
    SUCCEED("built with Gloo");
    return;
  }
  WARN("this build has no Gloo: multi-process training and its tests are unavailable");
  WorldInfo world;
  world.world_size = 2;
  CHECK_THROWS_WITH(llmft::dist::Communicator::connect(world, std::chrono::seconds(1)), Contains("libgloo-dev"));
}
