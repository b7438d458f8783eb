// BatchLoader: seeded per-epoch permutations, dropped partial batches, exact resume from a cursor.
#include <algorithm>
#include <numeric>
#include <vector>

#include "data/loader.h"
#include "data/shuffle.h"
#include "io/error.h"
#include "tests/support/catch.h"

using namespace llmft::data;

namespace {

// Sample i is [i, i + 1, ...] of length 1 + i % 3, so every batch shows which samples it holds.
std::vector<TokenizedSample> numbered_samples(int n) {
  std::vector<TokenizedSample> samples;
  for (int i = 0; i < n; ++i) {
    TokenizedSample s;
    for (int j = 0; j <= i % 3; ++j) s.input_ids.push_back(100 + i);
    s.labels = s.input_ids;
    samples.push_back(s);
  }
  return samples;
}

std::vector<int64_t> first_column(const Batch& batch) {
  auto column = batch.input_ids.select(1, 0).contiguous();
  return {column.data_ptr<int64_t>(), column.data_ptr<int64_t>() + column.numel()};
}

}  // namespace

TEST_CASE("shuffled_indices is a seeded permutation", "[data]") {
  const auto a = shuffled_indices(50, 7);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(a == shuffled_indices(50, 7));
  CHECK(a != shuffled_indices(50, 8));
  CHECK(a != identity);
  // Pinned so a change of generator (which would silently change every run's order) is noticed.
  CHECK(shuffled_indices(8, 1) == std::vector<int64_t>{0, 3, 7, 1, 2, 6, 5, 4});
  CHECK(SplitMix64(0).next() == 0xE220A8397B1DCDAFULL);  // the reference implementation's first output
  CHECK(shuffled_indices(0, 1).empty());
}

TEST_CASE("BatchLoader drops the partial batch and reshuffles each epoch", "[data]") {
  const auto samples = numbered_samples(10);
  BatchLoader loader(samples, 3, /*seed=*/42, /*pad_id=*/0);
  CHECK(loader.batches_per_epoch() == 3);
  CHECK(loader.epoch_order(0) == loader.epoch_order(0));
  CHECK(loader.epoch_order(0) != loader.epoch_order(1));

  std::vector<int64_t> seen;
  for (int b = 0; b < 3; ++b) {
    const Batch batch = loader.next();
    CHECK(batch.input_ids.size(0) == 3);
    for (int64_t id : first_column(batch)) seen.push_back(id - 100);
  }
  const auto order = loader.epoch_order(0);
  CHECK(seen == std::vector<int64_t>(order.begin(), order.begin() + 9));
  CHECK(loader.cursor() == LoaderCursor{0, 9});
  const Batch next_epoch = loader.next();
  CHECK(loader.cursor() == LoaderCursor{1, 3});
  const auto order1 = loader.epoch_order(1);
  CHECK(first_column(next_epoch) == std::vector<int64_t>{order1[0] + 100, order1[1] + 100, order1[2] + 100});
}

TEST_CASE("BatchLoader resumes identically after seek(cursor)", "[data]") {
  const auto samples = numbered_samples(11);
  BatchLoader original(samples, 2, 9, 0);
  for (int i = 0; i < 7; ++i) original.next();  // into the second epoch (5 batches per epoch)
  const LoaderCursor saved = original.cursor();
  CHECK(saved == LoaderCursor{1, 4});
  BatchLoader resumed(samples, 2, 9, 0);
  resumed.seek(saved);
  for (int i = 0; i < 12; ++i) {
    const Batch a = original.next();
    const Batch b = resumed.next();
    CHECK(at::equal(a.input_ids, b.input_ids));
    CHECK(at::equal(a.labels, b.labels));
    CHECK(original.cursor() == resumed.cursor());
  }
}

TEST_CASE("BatchLoader without shuffle walks the file order", "[data]") {
  const auto samples = numbered_samples(4);
  BatchLoader loader(samples, 2, 1, 0, /*shuffle=*/false);
  CHECK(first_column(loader.next()) == std::vector<int64_t>{100, 101});
  CHECK(first_column(loader.next()) == std::vector<int64_t>{102, 103});
  CHECK(first_column(loader.next()) == std::vector<int64_t>{100, 101});
}

TEST_CASE("BatchLoader rejects bad sizes and cursors", "[data]") {
  const auto samples = numbered_samples(4);
  CHECK_THROWS_WITH(BatchLoader(samples, 5, 1, 0), llmft::test::Contains("fewer than one batch"));
  CHECK_THROWS_AS(BatchLoader(samples, 0, 1, 0), llmft::Error);
  BatchLoader loader(samples, 2, 1, 0);
  CHECK_THROWS_WITH(loader.seek({0, 6}), llmft::test::Contains("out of range"));
  CHECK_THROWS_AS(loader.seek({0, 1}), llmft::Error);
  CHECK_THROWS_AS(loader.seek({-1, 0}), llmft::Error);
  CHECK_NOTHROW(loader.seek({3, 4}));
}

TEST_CASE("sequential_batches keeps order and the last short batch", "[data]") {
  const auto samples = numbered_samples(5);
  const auto batches = sequential_batches(samples, 2, 0);
  REQUIRE(batches.size() == 3);
  CHECK(first_column(batches[0]) == std::vector<int64_t>{100, 101});
  CHECK(first_column(batches[2]) == std::vector<int64_t>{104});
  CHECK(sequential_batches(samples, 2, 0, /*max_batches=*/1).size() == 1);
}

TEST_CASE("group_by_length: batches of similar lengths, longest first, seeded and resumable", "[data]") {
  std::vector<TokenizedSample> samples(230);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t n = 2 + (i * 7919) % 97;  // lengths scattered over 2..98
    samples[i].input_ids.assign(n, 1);
    samples[i].labels.assign(n, 1);
  }
  const int64_t batch = 2;  // mega-batches of 100 examples
  BatchLoader grouped(samples, batch, 5, 0, true, /*group_by_length=*/true);
  const std::vector<int64_t> order = grouped.epoch_order(0);
  // A permutation of all examples.
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == int64_t(i));
  // The first batch holds the longest example.
  std::size_t longest = 0;
  for (const auto& s : samples) longest = std::max(longest, s.input_ids.size());
  CHECK(samples[order[0]].input_ids.size() == longest);
  // Padding: the grouped epoch pads far less than the plain shuffled one.
  auto padding = [&](BatchLoader& loader) {
    int64_t pad = 0;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
      const Batch x = loader.next();
      pad += x.input_ids.numel() - x.tokens;
    }
    return pad;
  };
  BatchLoader plain(samples, batch, 5, 0, true, false);
  BatchLoader grouped_again(samples, batch, 5, 0, true, true);
  CHECK(padding(grouped_again) * 5 < padding(plain));
  // Seeded: the same order again; another epoch, another order; resume reproduces the batches.
  CHECK(grouped.epoch_order(0) == order);
  CHECK(grouped.epoch_order(1) != order);
  for (int i = 0; i < 7; ++i) grouped.next();
  const LoaderCursor cursor = grouped.cursor();
  const Batch expected = grouped.next();
  BatchLoader resumed(samples, batch, 5, 0, true, true);
  resumed.seek(cursor);
  CHECK(torch::equal(resumed.next().input_ids, expected.input_ids));
}

TEST_CASE("next_shard: N shards of a global batch are its consecutive slices, and the cursor moves once", "[data]") {
  const auto samples = numbered_samples(40);
  for (int64_t shards : {2, 4}) {
    INFO(shards << " shards");
    BatchLoader whole(samples, 8, /*seed=*/3, /*pad_id=*/0);
    std::vector<BatchLoader> ranks;
    for (int64_t r = 0; r < shards; ++r) ranks.emplace_back(samples, 8, 3, 0);
    for (int step = 0; step < 12; ++step) {  // crosses two epoch boundaries (5 batches per epoch)
      const auto expected = first_column(whole.next());
      std::vector<int64_t> joined;
      for (int64_t r = 0; r < shards; ++r) {
        const Batch part = ranks[static_cast<std::size_t>(r)].next_shard(r, shards);
        CHECK(part.input_ids.size(0) == 8 / shards);
        const auto ids = first_column(part);
        joined.insert(joined.end(), ids.begin(), ids.end());
        CHECK(ranks[static_cast<std::size_t>(r)].cursor() == whole.cursor());
      }
      CHECK(joined == expected);
    }
  }
  BatchLoader loader(samples, 8, 3, 0);
  CHECK_THROWS_WITH(loader.next_shard(0, 3), llmft::test::Contains("cannot split batches of 8 into shard 0 of 3"));
  CHECK_THROWS_AS(loader.next_shard(2, 2), llmft::Error);
}
