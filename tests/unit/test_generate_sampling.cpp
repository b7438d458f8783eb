// Logits processors with transformers' semantics, and the sampler's determinism.
#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "eval/sampling.h"
#include "io/error.h"
#include "tests/support/catch.h"

using namespace llmft;

namespace {
at::Tensor logits_of(const std::vector<float>& values) { return at::tensor(values, at::kFloat); }
std::vector<float> values_of(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}
constexpr float kInf = std::numeric_limits<float>::infinity();
}  // namespace

TEST_CASE("sampling: repetition penalty divides positive and multiplies negative logits", "[generate][sampling]") {
  const std::vector<int32_t> history{0, 1, 1};
  const auto out = values_of(eval::apply_repetition_penalty(logits_of({2.0f, -1.0f, 3.0f}), history, 2.0));
  CHECK(out == std::vector<float>{1.0f, -2.0f, 3.0f});
}

TEST_CASE("sampling: top-k keeps the k largest and ties with the k-th", "[generate][sampling]") {
  const auto out = values_of(eval::apply_top_k(logits_of({1.0f, 3.0f, 2.0f, 2.0f, 0.0f}), 2));
  CHECK(out == std::vector<float>{-kInf, 3.0f, 2.0f, 2.0f, -kInf});
  CHECK(values_of(eval::apply_top_k(logits_of({1.0f, 2.0f}), 10)) == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("sampling: top-p keeps the smallest set reaching the mass, and always the top token", "[generate][sampling]") {
  // probabilities 0.5, 0.3, 0.2 (as logits): top_p 0.7 removes the tokens whose ascending
  // cumulative mass is <= 0.3, i.e. only the 0.2 one.
  const at::Tensor logits = logits_of({std::log(0.5f), std::log(0.2f), std::log(0.3f)});
  const auto out = values_of(eval::apply_top_p(logits, 0.7));
  CHECK(std::abs(out[0] - std::log(0.5f)) < 1e-6f);
  CHECK(out[1] == -kInf);
  CHECK(std::abs(out[2] - std::log(0.3f)) < 1e-6f);
  const auto tiny = values_of(eval::apply_top_p(logits, 0.01));
  CHECK(tiny[0] != -kInf);
  CHECK(tiny[1] == -kInf);
  CHECK(tiny[2] == -kInf);
}

TEST_CASE("sampling: greedy takes the argmax after the repetition penalty", "[generate][sampling]") {
  eval::SamplingOptions options;
  options.temperature = 0;
  options.repetition_penalty = 4.0;
  eval::Sampler sampler(options);
  const std::vector<int32_t> history{1};
  CHECK(sampler.next(logits_of({1.0f, 2.0f, 0.5f}), {}) == 1);
  CHECK(sampler.next(logits_of({1.0f, 2.0f, 0.5f}), history) == 0);  // 2/4 < 1
}

TEST_CASE("sampling: a seed gives the same draws; top-k 1 is greedy", "[generate][sampling]") {
  eval::SamplingOptions options;
  options.temperature = 0.8;
  options.top_k = 0;
  options.seed = 42;
  const at::Tensor logits = at::randn({50}, at::TensorOptions().dtype(at::kFloat));
  auto draws = [&](const eval::SamplingOptions& o) {
    eval::Sampler sampler(o);
    std::vector<int32_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(sampler.next(logits, {}));
    return ids;
  };
  CHECK(draws(options) == draws(options));
  options.top_k = 1;
  for (int32_t id : draws(options)) CHECK(id == logits.argmax().item<int64_t>());
}

TEST_CASE("sampling: out-of-range options are errors", "[generate][sampling]") {
  eval::SamplingOptions o;
  o.top_p = 0;
  CHECK_THROWS_AS(eval::validate(o), Error);
  o = {};
  o.temperature = -1;
  CHECK_THROWS_AS(eval::validate(o), Error);
  o = {};
  o.repetition_penalty = 0;
  CHECK_THROWS_AS(eval::validate(o), Error);
  o = {};
  o.top_k = -2;
  CHECK_THROWS_AS(eval::validate(o), Error);
}
