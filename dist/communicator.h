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
  int64_t sum(int64_t value);
  double sum(double value);
  // Replaces `tensor` on every rank with rank `root`'s (same shape and dtype everywhere).
  virtual void broadcast(const at::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace llmft::dist
