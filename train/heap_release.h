#pragma once
// Bounds the memory the heap keeps between training steps. The llmft binary runs jemalloc with
// purging off (cli/allocator.cpp): pages a step frees stay mapped and the next step reuses them
// without page faults. When the batches' shapes keep changing, freed pages can pile up instead of
// being reused, so after each step the trainer checks whether the freed-but-mapped ("dirty")
// memory has grown past what one step needs, and if so returns it to the kernel.
// Without jemalloc (glibc, the sanitizers) heap_dirty_bytes() is empty and nothing is released.
#include <cstdint>
#include <optional>
#include <string>

namespace llmft::train {

// jemalloc's version string when this process runs on it (linked or LD_PRELOADed), else nullopt.
std::optional<std::string> jemalloc_version();

// Bytes in freed pages jemalloc still keeps mapped (reusable without a page fault), from its
// statistics; nullopt when the process does not run on jemalloc.
std::optional<uint64_t> heap_dirty_bytes();
// Returns every arena's dirty pages to the kernel; false without jemalloc.
bool release_dirty_pages();

// When to release. The dirty memory seen after the first step following a release (or the start) is
// what a step needs to find free; more than that plus max(256 MiB, a quarter of it) means the heap
// grows instead of reusing, and is released. With fixed shapes the level stays put and nothing is
// ever released; with shapes that keep changing the dirty memory stays under about 1.25 steps' worth.
class HeapReleasePolicy {
 public:
  // `dirty`: bytes after a step. True when the caller should release now.
  bool should_release(uint64_t dirty);

 private:
  std::optional<uint64_t> reference_;
};

// After every optimizer step: applies the policy to jemalloc's figures. True when it released.
bool release_heap_if_growing(HeapReleasePolicy& policy);

}  // namespace llmft::train
