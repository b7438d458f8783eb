#pragma once
// Platform-independent shuffling: std::shuffle and the std distributions are implementation-defined,
// so a seeded run would differ between libstdc++ and libc++. SplitMix64 (Steele et al. 2014) drives
// a Fisher-Yates shuffle instead.
#include <cstdint>
#include <vector>

namespace llmft::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by the multiply-shift reduction (bias below 2^-40 for any bound we use).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

// 0..n-1 shuffled by Fisher-Yates (last position first) from a SplitMix64 stream seeded with `seed`.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);

// The stream seed of a (seed, stream) pair, e.g. (run seed, epoch): distinct streams for nearby pairs.
uint64_t mix_seed(uint64_t seed, uint64_t stream);

}  // namespace llmft::data
