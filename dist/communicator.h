#pragma once
// Collectives between the processes of a data-parallel run, on libtorch's c10d: a TCPStore hosted by
// rank 0 for the rendezvous, a Gloo process group for CPU tensors and, when training on CUDA with a
// build that has NCCL, an NCCL process group for CUDA tensors (as torch.distributed's
// "cpu:gloo,cuda:nccl"). Without NCCL, CUDA tensors are staged through host memory over Gloo.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <string>

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
  // `device`: where this rank trains; a CUDA device also opens the NCCL group when built with it.
  static std::unique_ptr<Communicator> connect(const WorldInfo& world, std::chrono::milliseconds timeout,
                                               c10::Device device = c10::Device(c10::kCPU));
  static bool available();       // built with Gloo
  static bool nccl_available();  // built with NCCL (a CUDA libtorch)

  virtual const WorldInfo& world() const = 0;
  // "gloo", or "gloo (CPU) + nccl (CUDA)".
  virtual std::string backends() const = 0;
  // True when tensors on `device` travel as they are (CPU; CUDA with NCCL); others are staged
  // through host memory.
  virtual bool native(c10::Device device) const = 0;
  // Where flat buffers for tensors on `device` should live: `device` when native, else the CPU.
  c10::Device staging_device(c10::Device device) const { return native(device) ? device : c10::Device(c10::kCPU); }

  // Sums every tensor across ranks, in place. Tensors are copied into flat buckets of at most
  // `bucket_bytes` per dtype, so a model's hundreds of small gradients go as a few messages.
  virtual void all_reduce_sum(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes = int64_t{25} << 20) = 0;
  // Background variants on one flat, contiguous tensor on a native device, which must stay untouched
  // until wait() (for CUDA, wait() orders the current stream after the collective).
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
