#include "train/memory_usage.h"

#include <sys/resource.h>

namespace llmft::train {

uint64_t peak_rss_bytes() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return uint64_t(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace llmft::train
