// train::HeapReleasePolicy: when the trainer hands jemalloc's freed-but-mapped pages back to the
// kernel. Fixed shapes: never (the pages are what the next step reuses); growth: released.
#include "tests/support/catch.h"
#include "train/heap_release.h"

namespace {
constexpr uint64_t MiB = uint64_t{1} << 20;
}  // namespace

TEST_CASE("heap release: a steady level is kept, growth past one step's needs is released", "[train][memory]") {
  llmft::train::HeapReleasePolicy policy;
  // The first step sets the reference (1200 MiB); wobble within the allowance
  // (max(256 MiB, a quarter) = 300 MiB) is kept.
  CHECK_FALSE(policy.should_release(1200 * MiB));
  CHECK_FALSE(policy.should_release(1300 * MiB));
  CHECK_FALSE(policy.should_release(1500 * MiB));
  // Growing past it: release, and the next step's level is the new reference.
  CHECK(policy.should_release(1501 * MiB));
  CHECK_FALSE(policy.should_release(900 * MiB));
  CHECK_FALSE(policy.should_release(1156 * MiB));  // 900 + 256
  CHECK(policy.should_release(1157 * MiB));
}

TEST_CASE("heap release: small heaps get at least 256 MiB of slack", "[train][memory]") {
  llmft::train::HeapReleasePolicy policy;
  CHECK_FALSE(policy.should_release(10 * MiB));
  CHECK_FALSE(policy.should_release(266 * MiB));
  CHECK(policy.should_release(267 * MiB));
}

TEST_CASE("heap release: without jemalloc there is nothing to read or release", "[train][memory]") {
  // The test binary runs on glibc's malloc (only the llmft binary links jemalloc).
  CHECK_FALSE(llmft::train::heap_dirty_bytes().has_value());
  CHECK_FALSE(llmft::train::jemalloc_version().has_value());
  CHECK_FALSE(llmft::train::release_dirty_pages());
  llmft::train::HeapReleasePolicy policy;
  CHECK_FALSE(llmft::train::release_heap_if_growing(policy));
}
