// The heap allocator of the `llmft` binary. Built with jemalloc when Debian's libjemalloc-dev is
// present (CMake option LLMFT_JEMALLOC): a training step frees and re-allocates thousands of
// tensors of a few hundred sizes, which jemalloc's size classes reuse with less fragmentation than
// glibc's heap, so the peak is lower and the resident set levels off over long runs
// (docs/reliability.md).
//
// Purging is off: pages a step frees stay mapped, and the next step reuses them without page faults
// (llama-20m LoRA at seq 1024: +34% tokens/s over jemalloc's default 10 s decay, which returns some
// pages every step). Left alone, that lets freed memory pile up when batch shapes keep changing
// (mixed-length chat data grew to 20 GiB in 40 steps), so the trainer returns the dirty pages to the
// kernel after any step where they have grown past one step's needs (train/heap_release.h).
// MALLOC_CONF in the environment still overrides this.
#include <string>

#include "cli/commands.h"
#include "train/heap_release.h"

#if LLMFT_WITH_JEMALLOC
// Read by jemalloc at start-up (the unprefixed symbol of Debian's build).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
#endif

namespace llmft::cli {

std::string allocator_name() {
  const auto version = train::jemalloc_version();
  return version ? "jemalloc " + *version : "glibc malloc";
}

}  // namespace llmft::cli
