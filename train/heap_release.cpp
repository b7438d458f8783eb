#include "train/heap_release.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>

namespace llmft::train {
namespace {

using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);

// jemalloc's control entry, found at run time (also an LD_PRELOADed jemalloc); null on glibc.
Mallctl mallctl_entry() {
  static const Mallctl entry = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  return entry;
}

template <typename T>
bool read_ctl(Mallctl mallctl, const char* name, T& value) {
  std::size_t size = sizeof value;
  return mallctl(name, &value, &size, nullptr, 0) == 0;
}

}  // namespace

std::optional<std::string> jemalloc_version() {
  const Mallctl mallctl = mallctl_entry();
  const char* version = nullptr;
  if (!mallctl || !read_ctl(mallctl, "version", version) || !version) return std::nullopt;
  return std::string(version);
}

std::optional<uint64_t> heap_dirty_bytes() {
  const Mallctl mallctl = mallctl_entry();
  if (!mallctl) return std::nullopt;
  uint64_t epoch = 1;
  std::size_t epoch_size = sizeof epoch;
  if (mallctl("epoch", &epoch, &epoch_size, &epoch, sizeof epoch) != 0) return std::nullopt;  // refresh the statistics
  std::size_t page = 0, dirty_pages = 0;
  // 4096 is MALLCTL_ARENAS_ALL: every arena merged.
  if (!read_ctl(mallctl, "arenas.page", page) || !read_ctl(mallctl, "stats.arenas.4096.pdirty", dirty_pages))
    return std::nullopt;
  return uint64_t(dirty_pages) * uint64_t(page);
}

bool release_dirty_pages() {
  const Mallctl mallctl = mallctl_entry();
  return mallctl && mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) == 0;
}

bool HeapReleasePolicy::should_release(uint64_t dirty) {
  if (!reference_) {
    reference_ = dirty;
    return false;
  }
  const uint64_t allowance = std::max<uint64_t>(uint64_t{256} << 20, *reference_ / 4);
  if (dirty <= *reference_ + allowance) return false;
  reference_.reset();  // the next step's level becomes the new reference
  return true;
}

bool release_heap_if_growing(HeapReleasePolicy& policy) {
  const auto dirty = heap_dirty_bytes();
  return dirty && policy.should_release(*dirty) && release_dirty_pages();
}

}  // namespace llmft::train
