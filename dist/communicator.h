#pragma once
// Collectives between the processes of a data-parallel run, on libtorch's c10d: a TCPStore hosted by
// rank 0 for the rendezvous and a Gloo process group for the CPU. (CUDA tensors are staged through
// host memory until the NCCL group is wired in.)
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "dist/world.h"

namespace llmft::dist {

// A collective running in the background (on the group's own threads); wait() returns once its
// result is in the tensor, or throws llmft::Error as the blocking calls do.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  // Rank 0 hosts the store at MASTER_ADDR:MASTER_PORT; every rank connects and opens the group.
  // Throws llmft::Error naming the address when the others do not arrive within `timeout` (which
  // also bounds every later collective), or when this build has no Gloo (see docs/distributed.md).
  static std::unique_ptr<Communicator> connect(const WorldInfo& world, std::chrono::milliseconds timeout);
  static bool available();  // built with Gloo

  virtual const WorldInfo& world() const = 0;

  // Sums every tensor across ranks, in place. Tensors are copied into flat buckets of at most
  // `bucket_bytes` per dtype, so a model's hundreds of small gradients go as a few messages.
  virtual void all_reduce_sum(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes = int64_t{25} << 20) = 0;
  // Background variants on one flat, contiguous CPU tensor, which must stay untouched until wait().
  // Every rank must start the same collectives in the same order (Gloo matches them by sequence).
  // start_all_reduce_sum: every rank ends with the sum. start_reduce_sum: rank `root` ends with the
  // sum; the others' tensor holds scratch values afterwards.
  virtual std::unique_ptr<PendingCollective> start_all_reduce_sum(const at::Tensor& flat) = 0;
  virtual std::unique_ptr<PendingCollective> start_reduce_sum(const at::Tensor& flat, int root) = 0;
  int64_t sum(int64_t value);
  double sum(double value);
  // Replaces `tensor` on every rank with rank `root`'s (same shape and dtype everywhere).
  virtual void broadcast(const at::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace llmft::dist
