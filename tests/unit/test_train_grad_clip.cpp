// Global-norm clipping as torch.nn.utils.clip_grad_norm_ (norm type 2).
#include <cmath>

#include <torch/torch.h>

#include "tests/support/catch.h"
#include "train/grad_clip.h"

using llmft::train::clip_grad_norm;

namespace {
at::Tensor param_with_grad(std::vector<float> grad) {
  at::Tensor p = torch::zeros({static_cast<int64_t>(grad.size())}).requires_grad_(true);
  p.mutable_grad() = torch::tensor(grad);
  return p;
}
}  // namespace

TEST_CASE("clip_grad_norm returns the global norm and scales every grad by max/(norm + 1e-6)", "[train][clip]") {
  at::Tensor a = param_with_grad({3, 0});
  at::Tensor b = param_with_grad({0, 4, 0});
  at::Tensor no_grad = torch::zeros({2}).requires_grad_(true);  // skipped, as in torch
  const double total = clip_grad_norm({a, no_grad, b}, 1.0);
  CHECK(total == Approx(5.0).epsilon(1e-7));
  const float coef = 1.0f / (5.0f + 1e-6f);
  CHECK(a.grad()[0].item<float>() == Approx(3 * coef).epsilon(1e-6));
  CHECK(b.grad()[1].item<float>() == Approx(4 * coef).epsilon(1e-6));
  CHECK(std::sqrt(a.grad().square().sum().item<double>() + b.grad().square().sum().item<double>()) ==
        Approx(1.0).epsilon(1e-5));
  CHECK(!no_grad.grad().defined());
}

TEST_CASE("clip_grad_norm leaves grads under the limit unchanged and only measures with max_norm <= 0",
          "[train][clip]") {
  at::Tensor a = param_with_grad({0.3f, -0.4f});
  const at::Tensor before = a.grad().clone();
  CHECK(clip_grad_norm({a}, 1.0) == Approx(0.5).epsilon(1e-7));
  CHECK(torch::equal(a.grad(), before));  // multiplied by exactly 1

  at::Tensor big = param_with_grad({30, 40});
  CHECK(clip_grad_norm({big}, 0.0) == Approx(50.0).epsilon(1e-7));
  CHECK(torch::equal(big.grad(), torch::tensor({30.0f, 40.0f})));
}

TEST_CASE("clip_grad_norm with no grads returns 0 and a non-finite grad gives a non-finite norm", "[train][clip]") {
  CHECK(clip_grad_norm({torch::zeros({3}).requires_grad_(true)}, 1.0) == 0.0);
  at::Tensor bad = param_with_grad({1.0f, std::nanf("")});
  CHECK(!std::isfinite(clip_grad_norm({bad}, 1.0)));
}

TEST_CASE("clip_sharded_grad_norm over gradients split between processes gives clip_grad_norm's bits",
          "[train][clip]") {
  // Two simulated ranks: rank 0 holds a and c, rank 1 holds b; the "all-reduce" adds their vectors.
  torch::manual_seed(3);
  std::vector<at::Tensor> whole, rank0, rank1;
  for (int64_t n : {7, 130, 33}) {
    const at::Tensor grad = torch::randn({n}) * 3;
    for (auto* list : {&whole, &rank0, &rank1}) {
      at::Tensor p = torch::zeros({n}).requires_grad_(true);
      p.mutable_grad() = grad.clone();
      list->push_back(p);
    }
  }
  const std::vector<bool> owned0{true, false, true}, owned1{false, true, false};
  rank0[1].mutable_grad() = at::Tensor();  // each rank keeps only its own gradients
  rank1[0].mutable_grad() = at::Tensor();
  rank1[2].mutable_grad() = at::Tensor();
  at::Tensor vector0, vector1;
  // Each rank's call blocks in the all-reduce until both vectors exist: run rank 1's norms first.
  llmft::train::clip_sharded_grad_norm(rank1, owned1, [&](at::Tensor& v) { vector1 = v.clone(); }, 0.0);
  const double sharded = llmft::train::clip_sharded_grad_norm(
      rank0, owned0, [&](at::Tensor& v) { v.add_(vector1); }, 1.0);
  const double reference = clip_grad_norm(whole, 1.0);
  CHECK(sharded == reference);  // bit for bit
  CHECK(torch::equal(rank0[0].grad(), whole[0].grad()));
  CHECK(torch::equal(rank0[2].grad(), whole[2].grad()));
  CHECK_FALSE(rank0[1].grad().defined());
}
