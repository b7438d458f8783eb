// AdamW: the update rule (against a scalar double-precision transcription of torch's algorithm),
// the weight-decay rule, fp32 state and master weights for bf16 parameters, and the state round
// trip through safetensors. Bit-equality with torch.optim.AdamW itself is checked by the training
// parity test (tests/parity/test_train_parity.cpp).
#include <cmath>
#include <map>

#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"
#include "train/adamw.h"

using namespace llmft;
using train::AdamW;
using train::AdamWOptions;
using train::OptimizedParam;

namespace {

// torch's _single_tensor_adam (decoupled decay) for one scalar, in double.
struct ScalarAdamW {
  double p, m = 0, v = 0;
  int64_t t = 0;
  void step(double g, double lr, double wd, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8) {
    ++t;
    p *= 1 - lr * wd;
    m += (g - m) * (1 - b1);
    v = v * b2 + (1 - b2) * g * g;
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    p -= lr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + eps);
  }
};

at::Tensor leaf(std::vector<float> values, at::ScalarType dtype = at::kFloat) {
  return torch::tensor(values).to(dtype).requires_grad_(true);
}

void set_grad(at::Tensor& p, std::vector<float> g) { p.mutable_grad() = torch::tensor(g).to(p.scalar_type()); }

}  // namespace

TEST_CASE("decays() follows HF Trainer: no decay for biases and norm weights", "[train][adamw]") {
  CHECK(train::decays("model.layers.0.self_attn.q_proj.weight"));
  CHECK(train::decays("model.layers.0.self_attn.q_proj.lora_A.weight"));
  CHECK(train::decays("model.embed_tokens.weight"));
  CHECK(train::decays("lm_head.weight"));
  CHECK_FALSE(train::decays("model.layers.0.self_attn.q_proj.bias"));
  CHECK_FALSE(train::decays("model.layers.3.input_layernorm.weight"));
  CHECK_FALSE(train::decays("model.layers.3.post_attention_layernorm.weight"));
  CHECK_FALSE(train::decays("model.norm.weight"));
  CHECK_FALSE(train::decays("norm.weight"));
  CHECK_FALSE(train::decays("model.layers.0.q_norm.weight"));
  CHECK_FALSE(train::decays("model.final_RMSNorm.weight"));
  CHECK(train::decays("model.normalizer_proj.weight"));  // "norm" only as a whole component or "_norm"
}

TEST_CASE("AdamW follows torch's update rule; weight decay only where decay is set", "[train][adamw]") {
  at::Tensor a = leaf({0.5f, -1.0f, 2.0f});
  at::Tensor b = leaf({1.0f, 1.0f});
  AdamWOptions o;
  o.weight_decay = 0.1;
  AdamW opt({{"a.weight", a, true}, {"b.bias", b, false}}, o);
  std::vector<ScalarAdamW> ra = {{0.5}, {-1.0}, {2.0}}, rb = {{1.0}, {1.0}};
  const std::vector<std::vector<float>> ga = {{0.1f, -0.2f, 0.3f}, {0.05f, 0.5f, -0.3f}, {1.0f, 0.0f, 0.2f}};
  const std::vector<double> lrs = {0.0, 1e-2, 5e-3};
  for (size_t s = 0; s < ga.size(); ++s) {
    set_grad(a, ga[s]);
    set_grad(b, {0.25f, -4.0f});
    opt.step(lrs[s]);
    for (size_t i = 0; i < 3; ++i) ra[i].step(ga[s][i], lrs[s], 0.1);
    for (size_t i = 0; i < 2; ++i) rb[i].step(i == 0 ? 0.25 : -4.0, lrs[s], 0.0);
  }
  for (size_t i = 0; i < 3; ++i) CHECK(a[i].item<double>() == Approx(ra[i].p).epsilon(1e-6));
  for (size_t i = 0; i < 2; ++i) CHECK(b[i].item<double>() == Approx(rb[i].p).epsilon(1e-6));
  CHECK(opt.steps_taken() == 3);

  opt.zero_grad();
  CHECK(!a.grad().defined());
  const at::Tensor before = a.detach().clone();
  opt.step(1e-2);  // no grads: nothing moves, as in torch
  CHECK(torch::equal(a.detach(), before));
}

TEST_CASE("AdamW keeps fp32 state for bf16 parameters and fp32 masters when asked", "[train][adamw]") {
  // lr 1e-4 moves 1.0 by ~1e-4 per step: below bf16's spacing at 1.0 (2^-7), so without a master
  // every update rounds away; with one the updates accumulate and eventually show.
  AdamWOptions plain;
  AdamWOptions master;
  master.fp32_master_weights = true;
  at::Tensor p1 = leaf({1.0f}, at::kBFloat16), p2 = leaf({1.0f}, at::kBFloat16);
  AdamW without({{"w", p1}}, plain), with({{"w", p2}}, master);
  for (int s = 0; s < 100; ++s) {
    set_grad(p1, {1.0f});
    set_grad(p2, {1.0f});
    without.step(1e-4);
    with.step(1e-4);
  }
  CHECK(p1.item<float>() == 1.0f);
  CHECK(p2.item<float>() < 1.0f);
  CHECK(p2.scalar_type() == at::kBFloat16);

  const auto state = with.state_tensors();
  std::map<std::string, at::Tensor> by_name;
  for (const auto& t : state) by_name[t.name] = t.tensor;
  CHECK(by_name.at("w.exp_avg").scalar_type() == at::kFloat);
  CHECK(by_name.at("w.exp_avg_sq").scalar_type() == at::kFloat);
  REQUIRE(by_name.count("w.master") == 1);
  CHECK(by_name.at("w.master").item<double>() == Approx(1.0 - 100 * 1e-4).epsilon(1e-3));
  CHECK(without.state_tensors().size() == 4);  // step, exp_avg, exp_avg_sq, w.step: no master
}

TEST_CASE("AdamW state round trip through safetensors resumes bit-exactly", "[train][adamw]") {
  torch::manual_seed(3);
  at::Tensor w = torch::randn({4, 3}).requires_grad_(true);
  at::Tensor n = torch::randn({3}).requires_grad_(true);
  AdamWOptions o;
  o.weight_decay = 0.01;
  AdamW opt({{"x.weight", w, true}, {"x.norm.weight", n, false}}, o);
  const std::vector<at::Tensor> grads = {torch::randn({4, 3}), torch::randn({3}), torch::randn({4, 3}),
                                         torch::randn({3}), torch::randn({4, 3}), torch::randn({3})};
  for (int s = 0; s < 2; ++s) {
    w.mutable_grad() = grads[2 * s].clone();
    n.mutable_grad() = grads[2 * s + 1].clone();
    opt.step(1e-2);
  }
  test::TempDir dir("llmft-adamw");
  io::write_safetensors(dir.path / "opt.safetensors", opt.state_tensors());

  at::Tensor w2 = w.detach().clone().requires_grad_(true), n2 = n.detach().clone().requires_grad_(true);
  AdamW resumed({{"x.weight", w2, true}, {"x.norm.weight", n2, false}}, o);
  const auto file = io::SafetensorsFile::open(dir.path / "opt.safetensors");
  std::map<std::string, at::Tensor> state;
  for (const auto& info : file.tensors()) state[info.name] = file.tensor(info.name);
  resumed.load_state(state, "opt.safetensors");
  CHECK(resumed.steps_taken() == 2);

  w.mutable_grad() = grads[4].clone();
  n.mutable_grad() = grads[5].clone();
  w2.mutable_grad() = grads[4].clone();
  n2.mutable_grad() = grads[5].clone();
  opt.step(1e-2);
  resumed.step(1e-2);
  CHECK(torch::equal(w, w2));
  CHECK(torch::equal(n, n2));

  SECTION("missing, unexpected and misshapen state tensors are named") {
    auto missing = state;
    missing.erase("x.weight.exp_avg_sq");
    CHECK_THROWS_WITH(resumed.load_state(missing, "opt.safetensors"),
                      test::Contains("opt.safetensors") && test::Contains("x.weight.exp_avg_sq"));
    auto extra = state;
    extra["y.exp_avg"] = torch::zeros({1});
    CHECK_THROWS_WITH(resumed.load_state(extra, "opt.safetensors"), test::Contains("y.exp_avg"));
    auto wrong = state;
    wrong["x.norm.weight.exp_avg"] = torch::zeros({4});
    CHECK_THROWS_WITH(resumed.load_state(wrong, "opt.safetensors"),
                      test::Contains("x.norm.weight.exp_avg") && test::Contains("[4]"));
  }
}

TEST_CASE("AdamW rejects duplicate and non-floating parameters", "[train][adamw]") {
  at::Tensor p = leaf({1.0f});
  CHECK_THROWS_AS(AdamW({{"p", p}, {"p", p}}, {}), Error);
  CHECK_THROWS_AS(AdamW({{"i", torch::zeros({2}, at::kLong)}}, {}), Error);
}
