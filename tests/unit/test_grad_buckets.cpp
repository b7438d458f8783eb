// dist::plan_buckets: which trainable parameters travel together and which rank owns them when the
// optimizer state is sharded (ZeRO stages 1 and 2).
#include <numeric>
#include <set>

#include "dist/grad_buckets.h"
#include "io/error.h"
#include "tests/support/catch.h"

using llmft::dist::BucketPlan;
using llmft::dist::ParamShape;
using llmft::dist::plan_buckets;

namespace {
constexpr auto kF32 = c10::ScalarType::Float;
constexpr auto kBF16 = c10::ScalarType::BFloat16;
}  // namespace

TEST_CASE("plan_buckets: reverse order, one dtype per bucket, bounded size, every parameter once", "[dist]") {
  // 4-byte floats: 10, 20, 30 and 100 elements, then two bf16 tensors.
  const std::vector<ParamShape> params{{10, kF32}, {20, kF32}, {30, kF32}, {100, kF32}, {8, kBF16}, {8, kBF16}};
  const BucketPlan plan = plan_buckets(params, /*bucket_bytes=*/200, /*world_size=*/1);
  // Backward order: the bf16 pair first (32 bytes), then 100 floats (400 bytes: alone), then 30+20
  // (200 bytes: full), then 10.
  REQUIRE(plan.buckets.size() == 4);
  CHECK(plan.buckets[0].params == std::vector<std::size_t>{5, 4});
  CHECK(plan.buckets[0].dtype == kBF16);
  CHECK(plan.buckets[1].params == std::vector<std::size_t>{3});
  CHECK(plan.buckets[2].params == std::vector<std::size_t>{2, 1});
  CHECK(plan.buckets[2].offsets == std::vector<int64_t>{0, 30});
  CHECK(plan.buckets[2].numel == 50);
  CHECK(plan.buckets[3].params == std::vector<std::size_t>{0});
  std::set<std::size_t> seen;
  for (std::size_t b = 0; b < plan.buckets.size(); ++b)
    for (std::size_t slot = 0; slot < plan.buckets[b].params.size(); ++slot) {
      const std::size_t p = plan.buckets[b].params[slot];
      CHECK(seen.insert(p).second);
      CHECK(plan.bucket_of[p] == b);
      CHECK(plan.slot_of[p] == slot);
    }
  CHECK(seen.size() == params.size());
}

TEST_CASE("plan_buckets: owners balance bytes across ranks, lowest rank on ties", "[dist]") {
  std::vector<ParamShape> params(12, ParamShape{256, kF32});  // 1 KiB each
  params.push_back({2048, kF32});                               // 8 KiB
  const BucketPlan plan = plan_buckets(params, /*bucket_bytes=*/2048, /*world_size=*/3);
  std::vector<int64_t> load(3, 0);
  for (const auto& bucket : plan.buckets) {
    load[std::size_t(bucket.owner)] += bucket.numel * 4;
    for (std::size_t p : bucket.params) CHECK(plan.owner_of[p] == bucket.owner);
  }
  CHECK(plan.buckets.front().owner == 0);  // the 8 KiB tensor, first in backward order
  CHECK(load[0] == 8192);
  CHECK(load[1] == 6144);  // six 2 KiB buckets alternate between ranks 1 and 2
  CHECK(load[2] == 6144);
  CHECK(std::accumulate(load.begin(), load.end(), int64_t{0}) == 20480);
}

TEST_CASE("plan_buckets: the same shapes give the same plan; bad sizes are errors", "[dist]") {
  const std::vector<ParamShape> params{{1000, kF32}, {3, kF32}, {70000, kBF16}};
  const BucketPlan a = plan_buckets(params, 4096, 4), b = plan_buckets(params, 4096, 4);
  CHECK(a.owner_of == b.owner_of);
  CHECK(a.bucket_of == b.bucket_of);
  CHECK_THROWS_AS(plan_buckets(params, 0, 2), llmft::Error);
  CHECK_THROWS_AS(plan_buckets(params, 4096, 0), llmft::Error);
  // Sharding buckets: a quarter of each rank's share, capped.
  CHECK(llmft::dist::sharding_bucket_bytes(params, 2) == (4000 + 12 + 140000) / 8);
  CHECK(llmft::dist::sharding_bucket_bytes(params, 2, /*cap_bytes=*/1000) == 1000);
}
