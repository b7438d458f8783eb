#pragma once
// Gradient synchronisation for data-parallel training, launched from autograd hooks so that the
// messages travel while backward is still computing earlier layers (as DDP does).
//
// Parameters are grouped into the buckets of a dist::BucketPlan (in the order backward produces
// their gradients). When every gradient of a bucket is in, the bucket is copied into one flat
// buffer and its collective starts in the background; buckets start strictly in plan order on
// every rank, and at most kMaxInFlight are in flight (bounding the extra memory to a few buckets).
//
// Two modes:
// - all-reduce (ZeRO stage 0 and 1): gradients accumulate locally over the window's micro-batches
//   and are summed across ranks during the last backward; afterwards every rank holds every summed
//   gradient in .grad().
// - reduce to owner (ZeRO stage 2): every micro-batch's gradients are summed into the bucket
//   owner's accumulator as backward produces them, and dropped on this rank as soon as they are
//   staged, so a rank never holds more than its own share plus the buckets in flight. After the
//   window, the owner's .grad() holds the summed gradient; on other ranks .grad() is undefined.
// A parameter that received no gradient on a rank (no targets in its share, an unused parameter)
// contributes zeros, so every rank sends the same buckets.
#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "dist/communicator.h"
#include "dist/grad_buckets.h"
#include "train/accumulate.h"

namespace llmft::recipes {

class GradientSync {
 public:
  enum class Mode { all_reduce, reduce_to_owner };

  // Installs a post-accumulate-grad hook on every parameter (removed again by the destructor).
  GradientSync(dist::Communicator& comm, std::vector<at::Tensor> params, dist::BucketPlan plan, Mode mode);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // For train::forward_backward: the global supervised-token count and the micro-batch brackets.
  train::DataParallelHooks hooks();
  // After forward_backward (reduce_to_owner): moves this rank's summed gradients into .grad().
  void finish_window();

  static constexpr std::size_t kMaxInFlight = 2;

 private:
  struct ReadyHook;
  struct InFlight {
    std::size_t bucket;
    at::Tensor flat;  // [bucket.numel], the bucket's dtype, on Communicator::staging_device
    std::unique_ptr<dist::PendingCollective> work;
  };

  void before_backward(bool last);
  void after_backward(bool last);
  void grad_ready(std::size_t param);  // from the hook
  void launch_ready_buckets();
  void launch(std::size_t bucket);
  void complete_oldest();
  at::Tensor& staging(std::size_t bucket);
  at::Tensor new_flat(std::size_t bucket) const;  // zeros, [numel]

  dist::Communicator& comm_;
  std::vector<at::Tensor> params_;
  dist::BucketPlan plan_;
  Mode mode_;
  int rank_;
  bool active_ = false;                // this micro-batch's gradients are being synchronised
  std::vector<std::size_t> missing_;   // per bucket: gradients not yet in this micro-batch
  std::vector<bool> reported_;         // per parameter, this micro-batch
  std::vector<at::Tensor> staged_;     // per bucket (reduce_to_owner): gradients copied so far
  std::size_t next_launch_ = 0;        // buckets launch in plan order
  std::deque<InFlight> in_flight_;
  std::vector<at::Tensor> owned_sum_;  // per parameter (reduce_to_owner): this rank's summed gradient
};

}  // namespace llmft::recipes
