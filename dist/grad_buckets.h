#pragma once
// How a data-parallel run groups trainable parameters into flat buckets for gradient messages, and
// which rank owns each bucket when optimizer state (ZeRO stage 1) and gradients (stage 2) are
// sharded. Pure bookkeeping: the same inputs give the same plan on every rank, which is what keeps
// the ranks' collectives in step.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <c10/core/ScalarType.h>

namespace llmft::dist {

struct ParamShape {
  int64_t numel = 0;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

struct GradBucket {
  std::vector<std::size_t> params;  // indices into the parameter list, in bucket order
  std::vector<int64_t> offsets;     // each one's first element in the flat bucket
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t numel = 0;  // flat length
  int owner = 0;      // the rank that holds the optimizer state (and, stage 2, the gradients)
};

struct BucketPlan {
  std::vector<GradBucket> buckets;   // in launch order (the order backward produces gradients)
  std::vector<std::size_t> bucket_of;  // per parameter
  std::vector<std::size_t> slot_of;    // per parameter: its index in its bucket's params/offsets
  std::vector<int> owner_of;         // per parameter
  bool owns(std::size_t param, int rank) const { return owner_of[param] == rank; }
};

// Buckets take parameters in reverse order (backward reaches the last layers first), one dtype per
// bucket, at most `bucket_bytes` per bucket (a parameter larger than that gets a bucket of its own). Owners are assigned bucket by bucket to the rank with the fewest bytes so far
// (lowest rank on ties). Throws llmft::Error for world_size < 1 or bucket_bytes < 1.
BucketPlan plan_buckets(const std::vector<ParamShape>& params, int64_t bucket_bytes, int world_size);

// Bucket size for sharding: small enough that every rank gets several buckets to balance
// (total / (4 x world_size)), never more than `cap_bytes` (DDP's 25 MiB).
int64_t sharding_bucket_bytes(const std::vector<ParamShape>& params, int world_size,
                              int64_t cap_bytes = int64_t{25} << 20);

}  // namespace llmft::dist
