#include "dist/communicator.h"

#include <cstdlib>
#include <map>
#include <string>

#include "io/error.h"

// The wheel ships c10d's headers but not Gloo's; Debian's libgloo-dev provides them (only the
// declarations are used: the Gloo code itself is the copy inside libtorch_cpu). NCCL's header comes
// with a CUDA libtorch (the nvidia-nccl wheel or the CUDA toolkit). CMake's probes decide
// (dist/dist_config.h, generated).
#include "dist/dist_config.h"
#if LLMFT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if LLMFT_HAVE_GLOO && LLMFT_HAVE_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace llmft::dist {

int64_t Communicator::sum(int64_t value) {
  at::Tensor t = at::full({1}, value, at::kLong);
  all_reduce_sum({t});
  return t.item<int64_t>();
}

double Communicator::sum(double value) {
  at::Tensor t = at::full({1}, value, at::kDouble);
  all_reduce_sum({t});
  return t.item<double>();
}

#if LLMFT_HAVE_GLOO
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

// The transport device: GLOO_SOCKET_IFNAME names an interface (as in PyTorch); a loopback
// rendezvous stays on loopback; otherwise the interface this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> transport_device(const WorldInfo& world) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (is_loopback(world.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Gloo for CPU tensors (and everything when there is no CUDA group), NCCL for CUDA tensors when
// `cuda_` is set.
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(WorldInfo world, c10::intrusive_ptr<c10d::Backend> cpu, c10::intrusive_ptr<c10d::Backend> cuda)
      : world_(std::move(world)), cpu_(std::move(cpu)), cuda_(std::move(cuda)) {}

  const WorldInfo& world() const override { return world_; }
  std::string backends() const override { return cuda_ ? "gloo (CPU) + nccl (CUDA)" : "gloo"; }
  bool native(c10::Device device) const override { return device.is_cpu() || (device.is_cuda() && cuda_); }

  void all_reduce_sum(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) override {
    // Buckets per dtype and staging device, in the given order (the same on every rank: the order
    // is the contract).
    using Key = std::pair<at::ScalarType, std::string>;
    std::map<Key, std::vector<at::Tensor>> pending;
    std::map<Key, int64_t> pending_bytes;
    auto flush = [&](const Key& key) {
      std::vector<at::Tensor>& group = pending[key];
      if (group.empty()) return;
      const c10::Device where = staging_device(group.front().device());
      std::vector<at::Tensor> flat_parts;
      flat_parts.reserve(group.size());
      for (const at::Tensor& t : group) flat_parts.push_back(t.detach().to(where).reshape({-1}));
      std::vector<at::Tensor> bucket{at::cat(flat_parts)};
      run(backend_for(where).allreduce(bucket), "all-reduce");
      int64_t offset = 0;
      for (const at::Tensor& t : group) {
        const int64_t n = t.numel();
        t.copy_(bucket[0].narrow(0, offset, n).view(t.sizes()));
        offset += n;
      }
      group.clear();
      pending_bytes[key] = 0;
    };
    for (const at::Tensor& t : tensors) {
      if (!t.defined() || t.numel() == 0) continue;
      const Key key{t.scalar_type(), staging_device(t.device()).str()};
      pending[key].push_back(t);
      pending_bytes[key] += t.numel() * static_cast<int64_t>(t.element_size());
      if (pending_bytes[key] >= bucket_bytes) flush(key);
    }
    for (auto& [key, group] : pending) flush(key);
  }

  void broadcast(const at::Tensor& tensor, int root) override {
    const c10::Device where = staging_device(tensor.device());
    std::vector<at::Tensor> staged{tensor.detach().to(where).contiguous()};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run(backend_for(where).broadcast(staged, options), "broadcast");
    tensor.copy_(staged[0]);
  }

  void barrier() override { run(cpu_->barrier(), "barrier"); }

  std::unique_ptr<PendingCollective> start_all_reduce_sum(const at::Tensor& flat) override {
    std::vector<at::Tensor> tensors{checked_flat(flat)};
    auto work = backend_for(flat.device()).allreduce(tensors);
    return std::make_unique<C10dPending>(world_.rank, std::move(work), std::move(tensors), "all-reduce");
  }

  std::unique_ptr<PendingCollective> start_reduce_sum(const at::Tensor& flat, int root) override {
    std::vector<at::Tensor> tensors{checked_flat(flat)};
    c10d::ReduceOptions options;
    options.rootRank = root;
    auto work = backend_for(flat.device()).reduce(tensors, options);
    return std::make_unique<C10dPending>(world_.rank, std::move(work), std::move(tensors), "reduce");
  }

 private:
  c10d::Backend& backend_for(c10::Device device) { return device.is_cuda() && cuda_ ? *cuda_ : *cpu_; }

  const at::Tensor& checked_flat(const at::Tensor& flat) const {
    if (!native(flat.device()) || !flat.is_contiguous() || flat.dim() != 1)
      throw Error("internal: a background collective needs a flat, contiguous tensor on " + backends() + "'s devices");
    return flat;
  }

  // Holds the tensors until the collective is done (the group reads and writes them from its own
  // threads or streams).
  class C10dPending final : public PendingCollective {
   public:
    C10dPending(int rank, c10::intrusive_ptr<c10d::Work> work, std::vector<at::Tensor> tensors, const char* what)
        : rank_(rank), work_(std::move(work)), tensors_(std::move(tensors)), what_(what) {}
    ~C10dPending() override {
      // Never let Gloo write into freed memory: an abandoned collective (an exception elsewhere) is
      // waited for, its outcome ignored.
      if (!done_) try { work_->wait(); } catch (...) {}
    }
    void wait() override {
      done_ = true;
      wait_for(rank_, work_, what_);
    }

   private:
    int rank_;
    c10::intrusive_ptr<c10d::Work> work_;
    std::vector<at::Tensor> tensors_;
    const char* what_;
    bool done_ = false;
  };

  // Waits for a collective; a peer that died or a timeout becomes one line naming this rank.
  static void wait_for(int rank, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait();
    } catch (const c10::Error& e) {
      throw Error("rank " + std::to_string(rank) + ": " + what + " failed (another rank stopped or timed out): " +
                  first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(rank) + ": " + what + " failed: " + first_line(e.what()));
    }
  }
  void run(const c10::intrusive_ptr<c10d::Work>& work, const char* what) { wait_for(world_.rank, work, what); }

  WorldInfo world_;
  c10::intrusive_ptr<c10d::Backend> cpu_;
  c10::intrusive_ptr<c10d::Backend> cuda_;  // null: CUDA tensors are staged through cpu_
};

// The NCCL group for CUDA tensors, on the same store under its own prefix; null when this build
// has no NCCL or the rank trains on the CPU.
c10::intrusive_ptr<c10d::Backend> cuda_backend(const c10::intrusive_ptr<c10d::Store>& store, const WorldInfo& world,
                                               std::chrono::milliseconds timeout, c10::Device device) {
#if LLMFT_HAVE_NCCL
  if (device.is_cuda()) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("nccl", store);
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, world.rank, world.world_size, options);
  }
#else
  (void)store, (void)world, (void)timeout, (void)device;
#endif
  return {};
}

}  // namespace

bool Communicator::available() { return true; }
bool Communicator::nccl_available() { return LLMFT_HAVE_NCCL != 0; }

std::unique_ptr<Communicator> Communicator::connect(const WorldInfo& world, std::chrono::milliseconds timeout,
                                                    c10::Device device) {
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(world.master_port);
    store_options.isServer = world.rank == 0;
    store_options.numWorkers = world.world_size;
    store_options.waitWorkers = true;  // rank 0 returns once every rank has connected
    store_options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create_default(timeout);
    options->devices = {transport_device(world)};
    c10::intrusive_ptr<c10d::Backend> cpu =
        c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.world_size, options);
    return std::make_unique<C10dCommunicator>(world, std::move(cpu), cuda_backend(store, world, timeout, device));
  } catch (const c10::Error& e) {
    throw Error("rank " + std::to_string(world.rank) + ": rendezvous at " + where + " failed within " +
                std::to_string(timeout.count() / 1000) + " s: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + ": rendezvous at " + where + " failed: " + first_line(e.what()));
  }
}

#else

bool Communicator::available() { return false; }
bool Communicator::nccl_available() { return false; }

std::unique_ptr<Communicator> Communicator::connect(const WorldInfo& world, std::chrono::milliseconds, c10::Device) {
  throw Error("rank " + std::to_string(world.rank) +
              ": this llmft was built without Gloo's headers (Debian: libgloo-dev), so it cannot run "
              "multi-process training; rebuild after scripts/install-deps.sh");
}

#endif

}  // namespace llmft::dist
