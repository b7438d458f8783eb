#include "recipes/gradient_sync.h"

#include <string>

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "io/error.h"

namespace llmft::recipes {

struct GradientSync::ReadyHook final : torch::autograd::PostAccumulateGradHook {
  ReadyHook(GradientSync* sync, std::size_t param) : sync(sync), param(param) {}
  void operator()(const torch::autograd::Variable& /*param*/) override { sync->grad_ready(param); }
  GradientSync* sync;
  std::size_t param;
};

GradientSync::GradientSync(dist::Communicator& comm, std::vector<at::Tensor> params, dist::BucketPlan plan, Mode mode)
    : comm_(comm),
      params_(std::move(params)),
      plan_(std::move(plan)),
      mode_(mode),
      rank_(comm.world().rank),
      missing_(plan_.buckets.size(), 0),
      reported_(params_.size(), false),
      staged_(plan_.buckets.size()),
      owned_sum_(params_.size()) {
  if (plan_.bucket_of.size() != params_.size()) throw Error("internal: bucket plan does not match the parameters");
  for (std::size_t i = 0; i < params_.size(); ++i)
    torch::autograd::impl::set_post_acc_grad_hooks(params_[i], std::make_unique<ReadyHook>(this, i));
}

GradientSync::~GradientSync() {
  for (const at::Tensor& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

train::DataParallelHooks GradientSync::hooks() {
  train::DataParallelHooks h;
  h.window_total = [this](int64_t local) { return comm_.sum(local); };
  h.before_backward = [this](bool last) { before_backward(last); };
  h.after_backward = [this](bool last) { after_backward(last); };
  return h;
}

void GradientSync::before_backward(bool last) {
  // all_reduce: earlier micro-batches only accumulate locally (DDP's no_sync), the last one sums.
  active_ = mode_ == Mode::reduce_to_owner || last;
  if (!active_) return;
  for (std::size_t b = 0; b < plan_.buckets.size(); ++b) missing_[b] = plan_.buckets[b].params.size();
  std::fill(reported_.begin(), reported_.end(), false);
  next_launch_ = 0;
}

void GradientSync::grad_ready(std::size_t param) {
  if (!active_) return;
  if (reported_[param]) throw Error("internal: a gradient arrived twice in one backward (parameter " + std::to_string(param) + ")");
  reported_[param] = true;
  const std::size_t b = plan_.bucket_of[param];
  if (next_launch_ > b) throw Error("internal: a gradient arrived after its bucket was sent");
  if (mode_ == Mode::reduce_to_owner) {
    // Stage this micro-batch's gradient and drop it here: the owner keeps the sum.
    at::Tensor p = params_[param];
    const dist::GradBucket& bucket = plan_.buckets[b];
    staging(b).narrow(0, bucket.offsets[plan_.slot_of[param]], p.numel()).copy_(p.grad().detach().reshape({-1}));
    p.mutable_grad() = at::Tensor();
  }
  if (--missing_[b] == 0) launch_ready_buckets();
}

at::Tensor GradientSync::new_flat(std::size_t bucket) const {
  // On the parameters' device when the group sends from there (CPU; CUDA with NCCL), else the host.
  const dist::GradBucket& b = plan_.buckets[bucket];
  const c10::Device where = comm_.staging_device(params_[b.params.front()].device());
  return at::zeros({b.numel}, at::TensorOptions().dtype(b.dtype).device(where));
}

at::Tensor& GradientSync::staging(std::size_t bucket) {
  at::Tensor& flat = staged_[bucket];
  if (!flat.defined()) flat = new_flat(bucket);
  return flat;
}

void GradientSync::launch_ready_buckets() {
  while (next_launch_ < plan_.buckets.size() && missing_[next_launch_] == 0) launch(next_launch_++);
}

void GradientSync::after_backward(bool /*last*/) {
  if (!active_) return;
  // Gradients that never came (no targets on this rank, unused parameters) are sent as zeros.
  while (next_launch_ < plan_.buckets.size()) launch(next_launch_++);
  while (!in_flight_.empty()) complete_oldest();
  active_ = false;
}

void GradientSync::launch(std::size_t b) {
  const dist::GradBucket& bucket = plan_.buckets[b];
  at::Tensor flat;
  if (mode_ == Mode::reduce_to_owner) {
    flat = std::move(staging(b));  // leaves the slot empty for the next micro-batch
  } else {
    flat = new_flat(b);
    for (std::size_t slot = 0; slot < bucket.params.size(); ++slot) {
      const at::Tensor& p = params_[bucket.params[slot]];
      if (p.grad().defined()) flat.narrow(0, bucket.offsets[slot], p.numel()).copy_(p.grad().detach().reshape({-1}));
    }
  }
  auto work = mode_ == Mode::reduce_to_owner ? comm_.start_reduce_sum(flat, bucket.owner) : comm_.start_all_reduce_sum(flat);
  in_flight_.push_back({b, std::move(flat), std::move(work)});
  while (in_flight_.size() > kMaxInFlight) complete_oldest();
}

void GradientSync::complete_oldest() {
  InFlight done = std::move(in_flight_.front());
  in_flight_.pop_front();
  done.work->wait();
  const dist::GradBucket& bucket = plan_.buckets[done.bucket];
  if (mode_ == Mode::reduce_to_owner && bucket.owner != rank_) return;  // scratch on non-owners
  at::NoGradGuard no_grad;
  for (std::size_t slot = 0; slot < bucket.params.size(); ++slot) {
    const std::size_t i = bucket.params[slot];
    at::Tensor p = params_[i];
    const at::Tensor summed = done.flat.narrow(0, bucket.offsets[slot], p.numel()).view(p.sizes());
    if (mode_ == Mode::reduce_to_owner) {
      // Micro-batch sums add up here as AccumulateGrad would add them into .grad().
      if (owned_sum_[i].defined()) owned_sum_[i].add_(summed.to(p.device()));
      else owned_sum_[i] = summed.to(p.device(), /*non_blocking=*/false, /*copy=*/true);
    } else if (p.grad().defined()) {
      p.mutable_grad().copy_(summed);
    } else {
      p.mutable_grad() = summed.to(p.device(), /*non_blocking=*/false, /*copy=*/true);
    }
  }
}

void GradientSync::finish_window() {
  if (mode_ != Mode::reduce_to_owner) return;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    // Undefined everywhere when no micro-batch of the window ran backward (no targets at all).
    params_[i].mutable_grad() = std::move(owned_sum_[i]);
    owned_sum_[i] = at::Tensor();
  }
}

}  // namespace llmft::recipes
