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
