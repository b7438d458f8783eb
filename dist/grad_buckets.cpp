#include "dist/grad_buckets.h"

#include <algorithm>
#include <string>

#include "io/error.h"

namespace llmft::dist {
namespace {

int64_t bytes_of(const ParamShape& p) { return p.numel * int64_t(c10::elementSize(p.dtype)); }

}  // namespace

BucketPlan plan_buckets(const std::vector<ParamShape>& params, int64_t bucket_bytes, int world_size) {
  if (world_size < 1) throw Error("plan_buckets: world size " + std::to_string(world_size) + " < 1");
  if (bucket_bytes < 1) throw Error("plan_buckets: bucket size " + std::to_string(bucket_bytes) + " bytes < 1");
  BucketPlan plan;
  plan.bucket_of.assign(params.size(), 0);
  plan.owner_of.assign(params.size(), 0);
  plan.slot_of.assign(params.size(), 0);
  int64_t open_bytes = 0;
  for (std::size_t k = params.size(); k-- > 0;) {
    const ParamShape& p = params[k];
    const bool fits = !plan.buckets.empty() && plan.buckets.back().dtype == p.dtype &&
                      open_bytes + bytes_of(p) <= bucket_bytes;
    if (!fits) {
      plan.buckets.push_back(GradBucket{{}, {}, p.dtype, 0, 0});
      open_bytes = 0;
    }
    GradBucket& bucket = plan.buckets.back();
    plan.bucket_of[k] = plan.buckets.size() - 1;
    plan.slot_of[k] = bucket.params.size();
    bucket.params.push_back(k);
    bucket.offsets.push_back(bucket.numel);
    bucket.numel += p.numel;
    open_bytes += bytes_of(p);
  }
  std::vector<int64_t> load(std::size_t(world_size), 0);
  for (GradBucket& bucket : plan.buckets) {
    const auto lightest = std::min_element(load.begin(), load.end());  // first minimum: lowest rank
    bucket.owner = int(lightest - load.begin());
    *lightest += bucket.numel * int64_t(c10::elementSize(bucket.dtype));
    for (std::size_t k : bucket.params) plan.owner_of[k] = bucket.owner;
  }
  return plan;
}

int64_t sharding_bucket_bytes(const std::vector<ParamShape>& params, int world_size, int64_t cap_bytes) {
  int64_t total = 0;
  for (const ParamShape& p : params) total += bytes_of(p);
  return std::clamp<int64_t>(total / (4 * int64_t(std::max(1, world_size))), 1, std::max<int64_t>(1, cap_bytes));
}

}  // namespace llmft::dist
