#pragma once
// Memory the run is using, for metrics and progress.
#include <cstdint>

#include <c10/core/Device.h>

namespace llmft::train {

// Peak resident set size of this process (getrusage), in bytes: on the CPU what the OS had to give.
uint64_t peak_rss_bytes();

}  // namespace llmft::train
