#include "dist/communicator.h"

#include <cstdlib>
#include <map>
#include <string>

#include "io/error.h"

// The wheel ships c10d's headers but not Gloo's; Debian's libgloo-dev provides them (only the
// declarations are used: the Gloo code itself is the copy inside libtorch_cpu). CMake's probe
// decides (dist/gloo_config.h, generated).
#include "dist/gloo_config.h"
#if LLMFT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
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

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(WorldInfo world, c10::intrusive_ptr<c10d::Backend> backend)
      : world_(std::move(world)), backend_(std::move(backend)) {}

  const WorldInfo& world() const override { return world_; }

  void all_reduce_sum(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) override {
    // Buckets per dtype, in the given order (the same on every rank: the order is the contract).
    std::map<at::ScalarType, std::vector<at::Tensor>> pending;
    std::map<at::ScalarType, int64_t> pending_bytes;
    auto flush = [&](at::ScalarType type) {
      std::vector<at::Tensor>& group = pending[type];
      if (group.empty()) return;
      std::vector<at::Tensor> flat_parts;
      flat_parts.reserve(group.size());
      for (const at::Tensor& t : group) flat_parts.push_back(t.detach().to(at::kCPU).reshape({-1}));
      std::vector<at::Tensor> bucket{at::cat(flat_parts)};
      run(backend_->allreduce(bucket), "all-reduce");
      int64_t offset = 0;
      for (const at::Tensor& t : group) {
        const int64_t n = t.numel();
        t.copy_(bucket[0].narrow(0, offset, n).view(t.sizes()));
        offset += n;
      }
      group.clear();
      pending_bytes[type] = 0;
    };
    for (const at::Tensor& t : tensors) {
      if (!t.defined() || t.numel() == 0) continue;
      const at::ScalarType type = t.scalar_type();
      pending[type].push_back(t);
      pending_bytes[type] += t.numel() * static_cast<int64_t>(t.element_size());
      if (pending_bytes[type] >= bucket_bytes) flush(type);
    }
    for (auto& [type, group] : pending) flush(type);
  }

  void broadcast(const at::Tensor& tensor, int root) override {
    std::vector<at::Tensor> staged{tensor.detach().to(at::kCPU).contiguous()};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    run(backend_->broadcast(staged, options), "broadcast");
    tensor.copy_(staged[0]);
  }

  void barrier() override { run(backend_->barrier(), "barrier"); }

  std::unique_ptr<PendingCollective> start_all_reduce_sum(const at::Tensor& flat) override {
    std::vector<at::Tensor> tensors{checked_flat(flat)};
    auto work = backend_->allreduce(tensors);
    return std::make_unique<GlooPending>(world_.rank, std::move(work), std::move(tensors), "all-reduce");
  }

  std::unique_ptr<PendingCollective> start_reduce_sum(const at::Tensor& flat, int root) override {
    std::vector<at::Tensor> tensors{checked_flat(flat)};
    c10d::ReduceOptions options;
    options.rootRank = root;
    auto work = backend_->reduce(tensors, options);
    return std::make_unique<GlooPending>(world_.rank, std::move(work), std::move(tensors), "reduce");
  }

 private:
  static const at::Tensor& checked_flat(const at::Tensor& flat) {
    if (!flat.device().is_cpu() || !flat.is_contiguous() || flat.dim() != 1)
      throw Error("internal: a background collective needs a flat, contiguous CPU tensor");
    return flat;
  }

  // Holds the tensors until the collective is done (Gloo reads and writes them from its threads).
  class GlooPending final : public PendingCollective {
   public:
    GlooPending(int rank, c10::intrusive_ptr<c10d::Work> work, std::vector<at::Tensor> tensors, const char* what)
        : rank_(rank), work_(std::move(work)), tensors_(std::move(tensors)), what_(what) {}
    ~GlooPending() override {
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
  c10::intrusive_ptr<c10d::Backend> backend_;
};

}  // namespace

bool Communicator::available() { return true; }

std::unique_ptr<Communicator> Communicator::connect(const WorldInfo& world, std::chrono::milliseconds timeout) {
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
    c10::intrusive_ptr<c10d::Backend> backend =
        c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.world_size, options);
    return std::make_unique<GlooCommunicator>(world, std::move(backend));
  } catch (const c10::Error& e) {
    throw Error("rank " + std::to_string(world.rank) + ": rendezvous at " + where + " failed within " +
                std::to_string(timeout.count() / 1000) + " s: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + ": rendezvous at " + where + " failed: " + first_line(e.what()));
  }
}

#else

bool Communicator::available() { return false; }

std::unique_ptr<Communicator> Communicator::connect(const WorldInfo& world, std::chrono::milliseconds) {
  throw Error("rank " + std::to_string(world.rank) +
              ": this llmft was built without Gloo's headers (Debian: libgloo-dev), so it cannot run "
              "multi-process training; rebuild after scripts/install-deps.sh");
}

#endif

}  // namespace llmft::dist
