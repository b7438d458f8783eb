#include "recipes/data_parallel.h"

#include "io/error.h"
#include "train/rng_state.h"

namespace llmft::recipes {

void broadcast_trainable(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable) {
  at::NoGradGuard no_grad;
  for (const train::OptimizedParam& p : trainable) comm.broadcast(p.param, /*root=*/0);
}

void all_reduce_gradients(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable) {
  std::vector<at::Tensor> grads;
  grads.reserve(trainable.size());
  for (const train::OptimizedParam& p : trainable) {
    at::Tensor param = p.param;
    if (!param.grad().defined()) param.mutable_grad() = at::zeros_like(param);
    grads.push_back(param.grad());
  }
  comm.all_reduce_sum(grads);
}

train::WindowResult sum_window(dist::Communicator& comm, const train::WindowResult& local) {
  // One message: [loss, tokens] in double (token counts stay exact below 2^53).
  at::Tensor values = at::tensor({local.loss, static_cast<double>(local.tokens)}, at::kDouble);
  comm.all_reduce_sum({values});
  train::WindowResult total = local;
  total.loss = values[0].item<double>();
  total.tokens = static_cast<int64_t>(values[1].item<double>());
  return total;
}

std::vector<std::vector<io::NamedTensor>> gather_rng_states(dist::Communicator& comm, c10::Device device) {
  const int ranks = comm.world().world_size, rank = comm.world().rank;
  const std::vector<io::NamedTensor> own = train::capture_rng_state(device);
  std::vector<std::vector<io::NamedTensor>> all(static_cast<std::size_t>(ranks));
  for (const io::NamedTensor& state : own) {
    // A [ranks, n] byte table with only this rank's row filled: summing gathers it (other rows are 0).
    const at::Tensor flat = state.tensor.reshape({-1}).to(at::kByte);
    at::Tensor table = at::zeros({ranks, flat.numel()}, at::kByte);
    table[rank].copy_(flat);
    comm.all_reduce_sum({table});
    for (int r = 0; r < ranks; ++r) all[static_cast<std::size_t>(r)].push_back({state.name, table[r].clone()});
  }
  return all;
}

bool any_rank(dist::Communicator& comm, bool flag) { return comm.sum(int64_t{flag ? 1 : 0}) > 0; }

}  // namespace llmft::recipes
