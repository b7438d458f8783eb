#include "recipes/data_parallel.h"

#include "io/error.h"
#include "train/rng_state.h"

namespace llmft::recipes {

void broadcast_trainable(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable) {
  at::NoGradGuard no_grad;
  for (const train::OptimizedParam& p : trainable) comm.broadcast(p.param, /*root=*/0);
}

dist::BucketPlan plan_gradient_buckets(const std::vector<train::OptimizedParam>& trainable, int world_size,
                                       int zero_stage) {
  std::vector<dist::ParamShape> shapes;
  shapes.reserve(trainable.size());
  for (const train::OptimizedParam& p : trainable) shapes.push_back({p.param.numel(), p.param.scalar_type()});
  const int64_t bucket_bytes = zero_stage > 0 ? dist::sharding_bucket_bytes(shapes, world_size) : int64_t{25} << 20;
  return dist::plan_buckets(shapes, bucket_bytes, world_size);
}

std::vector<train::OptimizedParam> owned_trainable(const std::vector<train::OptimizedParam>& trainable,
                                                   const dist::BucketPlan& plan, int rank, int zero_stage) {
  if (zero_stage == 0) return trainable;
  std::vector<train::OptimizedParam> owned;
  for (std::size_t i = 0; i < trainable.size(); ++i)
    if (plan.owns(i, rank)) owned.push_back(trainable[i]);
  return owned;
}

void share_updated_params(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable,
                          const dist::BucketPlan& plan) {
  at::NoGradGuard no_grad;
  for (const dist::GradBucket& bucket : plan.buckets) {
    // One flat message per bucket; the owner's values fill it, the others' are overwritten.
    const c10::Device where = comm.staging_device(trainable[bucket.params.front()].param.device());
    std::vector<at::Tensor> parts;
    parts.reserve(bucket.params.size());
    for (std::size_t i : bucket.params) parts.push_back(trainable[i].param.detach().reshape({-1}).to(where));
    at::Tensor flat = at::cat(parts);
    comm.broadcast(flat, bucket.owner);
    if (bucket.owner == comm.world().rank) continue;
    for (std::size_t slot = 0; slot < bucket.params.size(); ++slot) {
      at::Tensor param = trainable[bucket.params[slot]].param;
      param.copy_(flat.narrow(0, bucket.offsets[slot], param.numel()).view(param.sizes()));
    }
  }
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

train::EvalResult evaluate_sharded(dist::Communicator& comm, model::LlamaForCausalLMImpl& model,
                                   const std::vector<data::Batch>& batches, c10::Device device) {
  const int ranks = comm.world().world_size, rank = comm.world().rank;
  std::vector<data::Batch> mine;
  for (std::size_t i = std::size_t(rank); i < batches.size(); i += std::size_t(ranks)) mine.push_back(batches[i]);
  const train::EvalResult local = train::evaluate(model, mine, device);
  // One message: [token-loss sum, supervised tokens, correct] in double (counts exact below 2^53).
  at::Tensor values = at::tensor({local.loss * double(local.supervised_tokens), double(local.supervised_tokens),
                                  double(local.correct)},
                                 at::kDouble);
  comm.all_reduce_sum({values});
  train::EvalResult total;
  total.supervised_tokens = int64_t(values[1].item<double>());
  total.correct = int64_t(values[2].item<double>());
  if (total.supervised_tokens > 0) total.loss = values[0].item<double>() / double(total.supervised_tokens);
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
