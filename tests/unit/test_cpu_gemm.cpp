// fp32 CPU products through oneDNN (model/cpu_gemm.h) against ATen's own at::linear / at::mm
// (MKL): same values and gradients within fp32 rounding, for every combination of trained
// operands, with and without bias, for 2-D and 3-D inputs, and transposed operands.
#include <torch/torch.h>

#include "model/cpu_gemm.h"
#include "tests/support/catch.h"

using namespace llmft;

namespace {

// |diff| relative to the reference's largest magnitude: both are fp32 products of K = 96 terms,
// summed in different orders (measured ~1e-7).
double rel_diff(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).abs().max().item<double>() / want.abs().max().item<double>();
}

}  // namespace

TEST_CASE("oneDNN is used for fp32 CPU products when libtorch has it", "[gemm]") {
  // The bundled CPU wheel is built with oneDNN: the fast path must really be taken there.
  if (at::hasMKLDNN()) CHECK(model::onednn_cpu_gemm_enabled());
}

TEST_CASE("model::gemm equals at::mm, transposed operands included", "[gemm]") {
  torch::manual_seed(3);
  const at::Tensor a = torch::randn({33, 96}), b = torch::randn({50, 96});
  CHECK(rel_diff(model::gemm(a, b.t()), at::mm(a, b.t())) < 1e-6);
  CHECK(rel_diff(model::gemm(b.t().contiguous().t(), a.t()), at::mm(b, a.t())) < 1e-6);
  at::Tensor acc = torch::randn({96, 96});
  at::Tensor want = acc + at::mm(a.t(), a);
  model::gemm_accumulate(acc, a.t(), a);
  CHECK(rel_diff(acc, want) < 1e-6);
}

TEST_CASE("model::linear has at::linear's values and gradients", "[gemm]") {
  torch::manual_seed(5);
  for (bool with_bias : {false, true}) {
    for (bool train_x : {false, true}) {
      for (bool train_w : {false, true}) {
        CAPTURE(with_bias, train_x, train_w);
        const at::Tensor x0 = torch::randn({2, 17, 96}), w0 = torch::randn({40, 96}) * 0.1, b0 = torch::randn({40});
        const at::Tensor grad_y = torch::randn({2, 17, 40});
        auto run = [&](bool fast) {
          at::Tensor x = x0.clone().requires_grad_(train_x), w = w0.clone().requires_grad_(train_w);
          at::Tensor b = with_bias ? b0.clone().requires_grad_(train_w) : at::Tensor();
          at::Tensor y = fast ? model::linear(x, w, b) : at::linear(x, w, b);
          if (train_x || train_w) y.backward(grad_y);
          return std::vector<at::Tensor>{y.detach(), x.grad(), w.grad(), with_bias ? b.grad() : at::Tensor()};
        };
        const auto got = run(true), want = run(false);
        CHECK(got[0].sizes() == want[0].sizes());
        CHECK(rel_diff(got[0], want[0]) < 1e-6);
        for (size_t i = 1; i < got.size(); ++i) {
          CAPTURE(i);
          REQUIRE(got[i].defined() == want[i].defined());
          if (want[i].defined()) CHECK(rel_diff(got[i], want[i]) < 1e-6);
        }
      }
    }
  }
}
