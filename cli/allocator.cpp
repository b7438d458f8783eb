// The heap allocator of the `llmft` binary. Built with jemalloc when Debian's libjemalloc-dev is
// present (CMake option LLMFT_JEMALLOC): on the CPU it trains 3-28% faster than glibc's malloc with
// a 13-16% lower peak (docs/benchmarks.md), because a training step frees and re-allocates
// thousands of tensors of a few hundred sizes, which jemalloc's size classes reuse without the
// fragmentation glibc's heap accumulates.
#include <dlfcn.h>

#include <cstddef>
#include <string>

#include "cli/commands.h"

#ifdef LLMFT_JEMALLOC
// Read by jemalloc at its first allocation (before main); MALLOC_CONF in the environment still
// overrides it. Never returning freed pages to the kernel: every step reuses them, and purging them
// costs page faults on the next step (10% of the throughput with the default 10 s decay).
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
#endif

namespace llmft::cli {

std::string allocator_name() {
  // jemalloc answers mallctl("version"); found at run time, so an LD_PRELOADed one shows too.
  using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  const char* version = nullptr;
  std::size_t length = sizeof version;
  if (mallctl && mallctl("version", &version, &length, nullptr, 0) == 0 && version)
    return std::string("jemalloc ") + version;
  return "glibc malloc";
}

}  // namespace llmft::cli
