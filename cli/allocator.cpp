// The heap allocator of the `llmft` binary. Built with jemalloc when Debian's libjemalloc-dev is
// present (CMake option LLMFT_JEMALLOC): a training step frees and re-allocates thousands of
// tensors of a few hundred sizes, which jemalloc's size classes reuse with less fragmentation than
// glibc's heap, so the peak is lower and the resident set levels off over long runs
// (docs/reliability.md). jemalloc's own defaults are kept, including returning pages unused for
// 10 s to the kernel: with purging off (dirty_decay_ms:-1) a step ran a few percent faster, but on
// mixed-length chat data with activation checkpointing the retained memory grew without bound.
#include <dlfcn.h>

#include <cstddef>
#include <string>

#include "cli/commands.h"

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
