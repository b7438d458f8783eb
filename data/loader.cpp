#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "data/shuffle.h"
#include "io/error.h"

namespace llmft::data {
namespace {

std::string cursor_text(const LoaderCursor& cursor) {
  return "{epoch " + std::to_string(cursor.epoch) + ", position " + std::to_string(cursor.position) + "}";
}

}  // namespace

BatchLoader::BatchLoader(const std::vector<TokenizedSample>& samples, int64_t batch_size, uint64_t seed,
                         int32_t pad_id, bool shuffle, bool group_by_length, PadWidth width)
    : samples_(samples),
      batch_size_(batch_size),
      seed_(seed),
      pad_id_(pad_id),
      shuffle_(shuffle),
      group_by_length_(group_by_length),
      width_(width) {
  if (batch_size_ <= 0) throw Error("batch size must be positive, got " + std::to_string(batch_size_));
  if (static_cast<int64_t>(samples_.size()) < batch_size_) {
    throw Error("the dataset has " + std::to_string(samples_.size()) + " examples, fewer than one batch of " +
                std::to_string(batch_size_));
  }
}

int64_t BatchLoader::batches_per_epoch() const { return static_cast<int64_t>(samples_.size()) / batch_size_; }

std::vector<int64_t> BatchLoader::epoch_order(int64_t epoch) const {
  const auto n = static_cast<int64_t>(samples_.size());
  std::vector<int64_t> order;
  if (shuffle_) {
    order = shuffled_indices(n, mix_seed(seed_, static_cast<uint64_t>(epoch)));
  } else {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  if (group_by_length_) group_by_length(order);
  return order;
}

void BatchLoader::group_by_length(std::vector<int64_t>& order) const {
  auto length = [this](int64_t i) { return samples_[static_cast<std::size_t>(i)].input_ids.size(); };
  const auto n = static_cast<int64_t>(order.size());
  const int64_t mega = batch_size_ * kMegaBatchBatches;
  for (int64_t begin = 0; begin < n; begin += mega) {
    std::stable_sort(order.begin() + begin, order.begin() + std::min(n, begin + mega),
                     [&](int64_t a, int64_t b) { return length(a) > length(b); });
  }
  // The longest example now starts its mega-batch; move that batch to the front. Only whole
  // batches are handed out, so the batch is taken from inside the used part of the epoch.
  const int64_t used = batches_per_epoch() * batch_size_;
  int64_t longest = 0;
  for (int64_t begin = 0; begin < used; begin += mega) {
    if (length(order[begin]) > length(order[longest])) longest = begin;
  }
  std::swap_ranges(order.begin(), order.begin() + batch_size_, order.begin() + longest);
}

Batch BatchLoader::next() { return next_shard(0, 1); }

Batch BatchLoader::next_shard(int64_t shard, int64_t shards) {
  if (shards <= 0 || batch_size_ % shards != 0 || shard < 0 || shard >= shards) {
    throw Error("data loader: cannot split batches of " + std::to_string(batch_size_) + " into shard " +
                std::to_string(shard) + " of " + std::to_string(shards));
  }
  // The cursor may sit at the end of an epoch (after its last batch): the next batch starts the
  // next epoch, so a checkpoint taken there resumes without skipping or repeating anything.
  if (cursor_.position + batch_size_ > batches_per_epoch() * batch_size_) {
    ++cursor_.epoch;
    cursor_.position = 0;
  }
  if (order_epoch_ != cursor_.epoch) {
    order_ = epoch_order(cursor_.epoch);
    order_epoch_ = cursor_.epoch;
  }
  const int64_t per_shard = batch_size_ / shards;
  std::vector<const TokenizedSample*> picked;
  picked.reserve(static_cast<std::size_t>(per_shard));
  for (int64_t i = shard * per_shard; i < (shard + 1) * per_shard; ++i)
    picked.push_back(&samples_[order_[cursor_.position + i]]);
  cursor_.position += batch_size_;
  return collate(picked, pad_id_, width_);
}

void BatchLoader::seek(const LoaderCursor& cursor) {
  const int64_t end = batches_per_epoch() * batch_size_;
  if (cursor.epoch < 0 || cursor.position < 0 || cursor.position > end || cursor.position % batch_size_ != 0) {
    throw Error("data loader cursor " + cursor_text(cursor) + " is out of range: positions are multiples of " +
                std::to_string(batch_size_) + " up to " + std::to_string(end) +
                " (was the dataset or batch size changed since the checkpoint?)");
  }
  cursor_ = cursor;
}

std::vector<Batch> sequential_batches(const std::vector<TokenizedSample>& samples, int64_t batch_size,
                                      int32_t pad_id, int64_t max_batches, PadWidth width) {
  if (batch_size <= 0) throw Error("batch size must be positive, got " + std::to_string(batch_size));
  std::vector<Batch> batches;
  const auto n = static_cast<int64_t>(samples.size());
  for (int64_t start = 0; start < n; start += batch_size) {
    if (max_batches > 0 && static_cast<int64_t>(batches.size()) >= max_batches) break;
    std::vector<const TokenizedSample*> picked;
    for (int64_t i = start; i < std::min(n, start + batch_size); ++i) picked.push_back(&samples[i]);
    batches.push_back(collate(picked, pad_id, width));
  }
  return batches;
}

}  // namespace llmft::data
