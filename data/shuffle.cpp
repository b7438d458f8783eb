#include "data/shuffle.h"

#include <numeric>
#include <utility>

namespace llmft::data {

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  SplitMix64 rng(seed ^ (stream * 0xD1B54A32D192ED03ULL));
  return rng.next();
}

}  // namespace llmft::data
