#pragma once
// Micro-batches over a tokenized dataset: shuffled per epoch from the seed, deterministic, and
// resumable from a cursor saved in a checkpoint (training resumes exactly where it stopped).
#include <cstdint>
#include <vector>

#include "data/batch.h"

namespace llmft::data {

struct LoaderCursor {
  int64_t epoch = 0;     // epochs completed
  int64_t position = 0;  // samples of this epoch's permutation already handed out
  bool operator==(const LoaderCursor&) const = default;
};

class BatchLoader {
 public:
  // `samples` must outlive the loader. The last partial batch of an epoch is dropped so every batch
  // has batch_size examples (with fewer samples than batch_size: throws llmft::Error).
  // group_by_length: each epoch's shuffled order is cut into mega-batches of 50 batches, each sorted
  // longest first, and the batch holding the longest example goes first (an out-of-memory shows at
  // the first step); batches hold similar lengths, so less padding, and the order stays seeded.
  BatchLoader(const std::vector<TokenizedSample>& samples, int64_t batch_size, uint64_t seed, int32_t pad_id,
              bool shuffle = true, bool group_by_length = false, PadWidth width = {});

  Batch next();  // moves to the next epoch when this one is exhausted
  // Data parallelism: the loader's batch_size is the global micro-batch, split into `shards` equal
  // slices; this returns slice `shard` (samples [shard*b, (shard+1)*b) of the global batch, b =
  // batch_size / shards) and advances the cursor past the whole global batch, as every rank does.
  // So N ranks with micro-batch b see exactly the samples one process with batch N*b sees.
  Batch next_shard(int64_t shard, int64_t shards);
  int64_t batches_per_epoch() const;
  LoaderCursor cursor() const { return cursor_; }
  void seek(const LoaderCursor& cursor);  // throws llmft::Error when out of range

  // The permutation of epoch `epoch`: a Fisher-Yates shuffle driven by a SplitMix64 stream seeded
  // from (seed, epoch), identical on every platform (std::shuffle's algorithm is not specified),
  // then grouped by length when asked.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  static constexpr int64_t kMegaBatchBatches = 50;
  void group_by_length(std::vector<int64_t>& order) const;

  const std::vector<TokenizedSample>& samples_;
  int64_t batch_size_;
  uint64_t seed_;
  int32_t pad_id_;
  bool shuffle_;
  bool group_by_length_;
  PadWidth width_;
  LoaderCursor cursor_;
  std::vector<int64_t> order_;  // permutation of cursor_.epoch
  int64_t order_epoch_ = -1;
};

// Every example once, in order, in batches of batch_size (the last one may be smaller): for eval.
std::vector<Batch> sequential_batches(const std::vector<TokenizedSample>& samples, int64_t batch_size,
                                      int32_t pad_id, int64_t max_batches = 0, PadWidth width = {});

}  // namespace llmft::data
