// The fused output projection + cross entropy (model/linear_cross_entropy.h) against PyTorch's own
// unfused path (at::linear, fp32 upcast, at::cross_entropy_loss with ignore_index, autograd): the
// loss and both gradients agree, for any chunking, with ignored rows, in fp32 and in bf16.
#include <torch/torch.h>

#include "model/linear_cross_entropy.h"
#include "tests/support/catch.h"

using namespace llmft;

namespace {

constexpr int64_t kIgnore = -100;

struct Result {
  at::Tensor loss, grad_hidden, grad_weight;
};

Result reference(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets) {
  at::Tensor h = hidden.detach().clone().requires_grad_(true);
  at::Tensor w = weight.detach().clone().requires_grad_(true);
  at::Tensor loss = at::cross_entropy_loss(at::linear(h, w).to(at::kFloat), targets, {}, at::Reduction::Sum, kIgnore);
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

Result fused(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, int64_t chunk_bytes,
             bool train_weight = true) {
  at::Tensor h = hidden.detach().clone().requires_grad_(true);
  at::Tensor w = weight.detach().clone().requires_grad_(train_weight);
  at::Tensor loss = model::linear_cross_entropy_sum(h, w, targets, kIgnore, chunk_bytes);
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

struct Case {
  at::Tensor hidden, weight, targets;
};

Case make_case(c10::ScalarType dtype, int64_t N = 37, int64_t C = 24, int64_t V = 101) {
  torch::manual_seed(7);
  Case c;
  c.hidden = torch::randn({N, C}).to(dtype);
  c.weight = (torch::randn({V, C}) * 0.3).to(dtype);
  c.targets = torch::randint(0, V, {N}, torch::kLong);
  c.targets.index_put_({torch::arange(0, N, 3)}, kIgnore);  // every third row has no target
  return c;
}

bool close(const at::Tensor& a, const at::Tensor& b, double rtol, double atol) {
  return at::allclose(a.to(at::kFloat), b.to(at::kFloat), rtol, atol);
}

}  // namespace

TEST_CASE("fused linear cross entropy equals the unfused loss and gradients in fp32", "[loss]") {
  const Case c = make_case(at::kFloat);
  const Result want = reference(c.hidden, c.weight, c.targets);
  // One row per chunk, a ragged split, and everything in one chunk.
  for (int64_t chunk_bytes : {int64_t(101 * 4), int64_t(101 * 4 * 5), int64_t(1) << 30}) {
    CAPTURE(chunk_bytes);
    const Result got = fused(c.hidden, c.weight, c.targets, chunk_bytes);
    // fp32: only summation order differs.
    CHECK(close(got.loss, want.loss, 1e-6, 1e-5));
    CHECK(close(got.grad_hidden, want.grad_hidden, 1e-5, 1e-6));
    CHECK(close(got.grad_weight, want.grad_weight, 1e-5, 1e-6));
  }
  // Rows without a target get exactly zero gradient.
  const Result got = fused(c.hidden, c.weight, c.targets, 404);
  CHECK(got.grad_hidden.index({torch::arange(0, 37, 3)}).abs().max().item<float>() == 0.0f);
}

TEST_CASE("fused linear cross entropy leaves a frozen weight without a gradient", "[loss]") {
  const Case c = make_case(at::kFloat);
  const Result want = reference(c.hidden, c.weight, c.targets);
  const Result got = fused(c.hidden, c.weight, c.targets, 1000, /*train_weight=*/false);
  CHECK_FALSE(got.grad_weight.defined());
  CHECK(close(got.grad_hidden, want.grad_hidden, 1e-5, 1e-6));
}

TEST_CASE("fused linear cross entropy in bf16 follows the upcast path", "[loss]") {
  const Case c = make_case(at::kBFloat16);
  const Result want = reference(c.hidden, c.weight, c.targets);
  const Result got = fused(c.hidden, c.weight, c.targets, 101 * 4 * 7);
  // Same bf16 logits and fp32 softmax; gradients are rounded to bf16 (8 bits of mantissa) by both.
  CHECK(close(got.loss, want.loss, 1e-5, 1e-4));
  CHECK(close(got.grad_hidden, want.grad_hidden, 2e-2, 2e-3));
  CHECK(close(got.grad_weight, want.grad_weight, 2e-2, 2e-3));
}

TEST_CASE("fused linear cross entropy with no target at all is zero with zero gradient", "[loss]") {
  Case c = make_case(at::kFloat);
  c.targets.fill_(kIgnore);
  const Result got = fused(c.hidden, c.weight, c.targets, 1000);
  CHECK(got.loss.item<float>() == 0.0f);
  CHECK(got.grad_hidden.abs().max().item<float>() == 0.0f);
  CHECK(got.grad_weight.abs().max().item<float>() == 0.0f);
}
