// The decoder's forward on tiny random models: names, causality, padding, GQA, RoPE, masks, loss.
// Exact agreement with transformers is tests/parity/'s job; these check the properties any correct
// implementation has, each against an independent computation.
#include <cmath>
#include <numbers>

#include <torch/torch.h>

#include "io/error.h"
#include "model/llama.h"
#include "model/tensor_table.h"
#include "tests/support/catch.h"
#include "tests/support/tiny_llama.h"

using namespace llmft::model;
using llmft::testing::randomize;
using llmft::testing::tiny_config;
using llmft::test::Contains;
using torch::indexing::Slice;
#if LLMFT_CATCH2_V3
using Catch::Approx;
#endif

namespace {

constexpr double kAtol = 1e-5;  // fp32 results that differ only in summation order

LlamaForCausalLM random_model(const LlamaConfig& config, uint64_t seed = 1) {
  LlamaForCausalLM model(config);
  randomize(*model, seed);
  model->eval();
  return model;
}

at::Tensor tokens(std::vector<int64_t> ids) {
  return torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, T]
}

at::Tensor logits_of(LlamaForCausalLM& model, ForwardArgs args) {
  torch::NoGradGuard no_grad;
  return model->forward(args).logits;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("named_parameters equal the tensor table, in order and shape", "[model][forward]") {
  LlamaConfig llama = tiny_config();
  llama.attention_bias = true;
  llama.mlp_bias = true;
  LlamaConfig tied = tiny_config();
  tied.tie_word_embeddings = true;
  for (const LlamaConfig& c : {tiny_config(), llama, tied, tiny_config(Architecture::Qwen2)}) {
    LlamaForCausalLM model(c, at::kBFloat16);
    const auto params = model->named_parameters();
    std::vector<ExpectedTensor> table = expected_tensors(c);
    if (c.tie_word_embeddings) table.pop_back();  // lm_head is the embedding, not a parameter
    REQUIRE(params.size() == table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
      INFO(table[i].name);
      CHECK(params[i].key() == table[i].name);
      CHECK(params[i].value().sizes().vec() == table[i].shape);
      CHECK(params[i].value().scalar_type() == at::kBFloat16);
    }
    CHECK(model->named_buffers().size() == 0);  // inv_freq stays fp32, outside casts
  }
  LlamaForCausalLM tied_model(tied);
  CHECK(tied_model->output_weight().data_ptr() == tied_model->model->embed_tokens->weight.data_ptr());
}

TEST_CASE("causal: a later token never changes earlier logits", "[model][forward]") {
  auto model = random_model(tiny_config());
  at::Tensor ids = tokens({5, 9, 17, 3, 33, 8, 21, 60});
  const at::Tensor before = logits_of(model, {ids});
  at::Tensor changed = ids.clone();
  changed.index_put_({0, 5}, 42);
  const at::Tensor after = logits_of(model, {changed});
  CHECK(max_diff(before.index({Slice(), Slice(0, 5)}), after.index({Slice(), Slice(0, 5)})) < kAtol);
  CHECK(max_diff(before.index({Slice(), Slice(5)}), after.index({Slice(), Slice(5)})) > 1e-2);
}

TEST_CASE("right padding leaves the real tokens' logits unchanged", "[model][forward]") {
  auto model = random_model(tiny_config());
  const at::Tensor short_ids = tokens({5, 9, 17, 3, 33});
  const at::Tensor long_ids = tokens({7, 1, 2, 40, 41, 50, 11, 12});
  const at::Tensor alone = logits_of(model, {short_ids});  // [1, 5, V]

  at::Tensor padded = torch::cat({torch::cat({short_ids, tokens({63, 62, 61})}, 1), long_ids});  // [2, 8]
  at::Tensor mask = torch::ones({2, 8}, torch::kLong);
  mask.index_put_({0, Slice(5)}, 0);
  const at::Tensor batch = logits_of(model, {padded, mask});  // [2, 8, V]
  CHECK(max_diff(batch.index({0, Slice(0, 5)}), alone[0]) < kAtol);
  CHECK(max_diff(batch.index({1}), logits_of(model, {long_ids})[0]) < kAtol);
  CHECK(torch::isfinite(batch).all().item<bool>());
}

TEST_CASE("left padding: no NaN anywhere, real tokens as if unpadded", "[model][forward]") {
  auto model = random_model(tiny_config());
  const at::Tensor ids = tokens({5, 9, 17, 3, 33});
  const at::Tensor alone = logits_of(model, {ids});

  at::Tensor padded = torch::cat({tokens({0, 0, 0}), ids}, 1);  // [1, 8]
  at::Tensor mask = torch::tensor({0, 0, 0, 1, 1, 1, 1, 1}, torch::kLong).unsqueeze(0);
  // Real tokens keep positions 0..4, as a generate()-style caller would pass.
  at::Tensor positions = (mask.cumsum(-1) - 1).clamp_min(0);
  const at::Tensor out = logits_of(model, {padded, mask, positions});
  CHECK(torch::isfinite(out).all().item<bool>());
  CHECK(max_diff(out.index({0, Slice(3)}), alone[0]) < kAtol);

  SECTION("also in bf16, and with gradients") {
    LlamaForCausalLM bf16(tiny_config(), at::kBFloat16);
    randomize(*bf16, 1);
    const CausalLMOutput o = bf16->forward({padded, mask, positions, padded.masked_fill(mask == 0, -100)});
    CHECK(torch::isfinite(o.logits).all().item<bool>());
    o.loss.backward();
    for (const auto& p : bf16->parameters()) CHECK(torch::isfinite(p.grad()).all().item<bool>());
  }
}

TEST_CASE("GQA equals the MHA model with each K/V head repeated for its query group", "[model][forward]") {
  const LlamaConfig gqa_config = tiny_config();  // 4 query heads share 2 kv heads
  LlamaConfig mha_config = gqa_config;
  mha_config.num_key_value_heads = 4;
  auto gqa = random_model(gqa_config);
  LlamaForCausalLM mha(mha_config);
  {
    torch::NoGradGuard no_grad;
    const auto src = gqa->named_parameters();
    const int64_t groups = 2, D = gqa_config.head_dim;
    for (auto& item : mha->named_parameters()) {
      at::Tensor w = src[item.key()];
      if (item.key().find("k_proj") != std::string::npos || item.key().find("v_proj") != std::string::npos)
        w = w.view({-1, D, w.size(1)}).repeat_interleave(groups, 0).reshape({-1, w.size(1)});  // head h <- kv h/2
      item.value().copy_(w);
    }
  }
  mha->eval();
  const at::Tensor ids = torch::tensor({{5, 9, 17, 3, 33, 8}, {1, 2, 3, 4, 5, 6}}, torch::kLong);
  CHECK(max_diff(logits_of(gqa, {ids}), logits_of(mha, {ids})) < kAtol);  // SDPA's own GQA path
  at::Tensor mask = torch::ones_like(ids);
  mask.index_put_({1, Slice(4)}, 0);
  CHECK(max_diff(logits_of(gqa, {ids, mask}), logits_of(mha, {ids, mask})) < kAtol);  // explicit repeats
}

TEST_CASE("loss is the mean shifted cross entropy over non-ignored labels", "[model][forward]") {
  auto model = random_model(tiny_config());
  const at::Tensor ids = torch::tensor({{5, 9, 17, 3, 33, 8}, {1, 2, 3, 4, 5, 6}}, torch::kLong);
  at::Tensor labels = ids.clone();
  labels.index_put_({0, Slice(0, 3)}, -100);  // a masked prompt
  labels.index_put_({1, 5}, -100);
  torch::NoGradGuard no_grad;
  const CausalLMOutput out = model->forward({ids, std::nullopt, std::nullopt, labels});
  REQUIRE(out.loss.scalar_type() == at::kFloat);
  REQUIRE(out.loss.dim() == 0);

  // Position t predicts labels[t + 1]; the last position predicts nothing.
  const at::Tensor log_probs = out.logits.log_softmax(-1);
  double sum = 0;
  int count = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t + 1 < 6; ++t) {
      const int64_t target = labels[b][t + 1].item<int64_t>();
      if (target == -100) continue;
      sum -= log_probs[b][t][target].item<double>();
      ++count;
    }
  REQUIRE(count == 3 + 4);
  CHECK(out.loss.item<double>() == Approx(sum / count).epsilon(1e-6));
  CHECK_FALSE(model->forward({ids}).loss.defined());

  SECTION("bf16 logits, fp32 loss of their upcast") {
    LlamaForCausalLM bf16(tiny_config(), at::kBFloat16);
    randomize(*bf16, 1);
    const CausalLMOutput o = bf16->forward({ids, std::nullopt, std::nullopt, labels});
    CHECK(o.logits.scalar_type() == at::kBFloat16);
    CHECK(o.loss.scalar_type() == at::kFloat);
    CHECK(o.loss.item<double>() == Approx(causal_lm_loss(o.logits.to(at::kFloat), labels).item<double>()));
  }
}

TEST_CASE("RoPE inverse frequencies: default, linear, llama3", "[model][rope]") {
  LlamaConfig c = tiny_config();
  c.head_dim = 16;
  auto independent = [&c](int64_t i) {  // theta^(-2i/D), then the scaling rule, in double
    const double inv = 1.0 / std::pow(c.rope_theta, 2.0 * static_cast<double>(i) / 16.0);
    const RopeScaling& s = c.rope_scaling;
    if (s.rope_type == RopeScalingType::Linear) return inv / s.factor;
    if (s.rope_type != RopeScalingType::Llama3) return inv;
    const double old_len = static_cast<double>(s.original_max_position_embeddings);
    const double wavelen = 2 * std::numbers::pi / inv;
    if (wavelen < old_len / s.high_freq_factor) return inv;  // high frequency: kept
    if (wavelen > old_len / s.low_freq_factor) return inv / s.factor;  // low frequency: scaled
    const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * inv / s.factor + smooth * inv;
  };
  auto check_against = [&](const std::vector<float>& from_transformers) {
    const at::Tensor inv = rope_inv_freq(c);
    REQUIRE(inv.scalar_type() == at::kFloat);
    REQUIRE(inv.numel() == 8);
    for (int64_t i = 0; i < 8; ++i) {
      INFO("i = " << i);
      CHECK(inv[i].item<double>() == Approx(independent(i)).epsilon(1e-6));
      // transformers 5.23's values for this config (printed with %.9g): the same fp32 roundings.
      if (!from_transformers.empty()) CHECK(inv[i].item<float>() == from_transformers[static_cast<std::size_t>(i)]);
    }
  };

  c.rope_theta = 10000.0;
  check_against({});
  c.rope_theta = 500.0;
  c.rope_scaling = {RopeScalingType::Linear, 2.0};
  check_against({0.5f, 0.229931638f, 0.10573712f, 0.0486246236f, 0.0223606806f, 0.0102828564f, 0.00472870795f,
                 0.00217455928f});
  c.rope_theta = 10000.0;
  c.rope_scaling = {RopeScalingType::Llama3, 8.0, 1.0, 4.0, 400};  // index 3 falls in the smoothed band
  check_against({1.0f, 0.316227764f, 0.100000001f, 0.0132976156f, 0.00124999997f, 0.000395284733f, 0.000125000006f,
                 3.95284733e-05f});
  const double medium_wavelen = 2 * std::numbers::pi / std::pow(10000.0, -6.0 / 16.0);
  CHECK((medium_wavelen > 100 && medium_wavelen < 400));
}

TEST_CASE("rotary tables and rotate-half convention", "[model][rope]") {
  const at::Tensor inv_freq = torch::tensor({0.5f, 0.25f});  // D = 4
  const RotaryTables rope = rotary_tables(inv_freq, torch::tensor({{0, 3}}, torch::kLong), at::kFloat);
  REQUIRE(rope.cos.sizes() == at::IntArrayRef({1, 2, 4}));
  // position 3: angles [1.5, 0.75, 1.5, 0.75]
  CHECK(rope.cos[0][1][2].item<double>() == Approx(std::cos(1.5)));
  CHECK(rope.sin[0][1][3].item<double>() == Approx(std::sin(0.75)));
  // x = [x1 | x2] -> [x1 cos - x2 sin | x2 cos + x1 sin] per frequency pair (i, i + D/2)
  const at::Tensor x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 1, 4}).expand({1, 1, 2, 4});
  const at::Tensor y = apply_rotary(x, rope)[0][0][1];
  CHECK(y[0].item<double>() == Approx(1 * std::cos(1.5) - 3 * std::sin(1.5)));
  CHECK(y[2].item<double>() == Approx(3 * std::cos(1.5) + 1 * std::sin(1.5)));
  CHECK(y[1].item<double>() == Approx(2 * std::cos(0.75) - 4 * std::sin(0.75)));
}

TEST_CASE("RMSNorm normalises in fp32 and casts back before the weight", "[model][layers]") {
  const int64_t dim = 64;
  RMSNorm norm(dim, 1e-6, at::TensorOptions().dtype(at::kBFloat16));
  CHECK(torch::equal(norm->weight, torch::ones({dim}, at::kBFloat16)));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor w = (at::normal(1.0, 0.3, {dim}, gen)).to(at::kBFloat16);
  const at::Tensor x = (at::normal(0.0, 3.0, {8, dim}, gen)).to(at::kBFloat16);
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(w);
  }
  const at::Tensor y = norm->forward(x);
  REQUIRE(y.scalar_type() == at::kBFloat16);

  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.square().mean(-1, true) + 1e-6);  // fp32
  CHECK(torch::equal(y, normed.to(at::kBFloat16) * w));  // round, then scale in bf16
  // Scaling before the cast rounds once instead of twice: a different result, so the test can fail.
  CHECK_FALSE(torch::equal(y, (normed * w.to(at::kFloat)).to(at::kBFloat16)));
}

TEST_CASE("sliding window: a one-layer model sees only the last `window` tokens", "[model][forward]") {
  LlamaConfig c = tiny_config(Architecture::Mistral);
  c.num_hidden_layers = 1;
  c.sliding_window = 3;
  auto model = random_model(c);
  const at::Tensor ids = tokens({5, 9, 17, 3, 33, 8, 21, 60});
  const at::Tensor full = logits_of(model, {ids});
  // The last position attends to tokens 5..7; run just those at their original positions.
  const at::Tensor tail = logits_of(model, {ids.index({Slice(), Slice(5)}), std::nullopt, tokens({5, 6, 7})});
  CHECK(max_diff(full.index({0, 7}), tail.index({0, 2})) < kAtol);

  LlamaConfig wide = c;
  wide.sliding_window = std::nullopt;
  LlamaForCausalLM unwindowed(wide);
  {
    torch::NoGradGuard no_grad;
    auto src = model->named_parameters();
    for (auto& p : unwindowed->named_parameters()) p.value().copy_(src[p.key()]);
  }
  unwindowed->eval();
  const at::Tensor no_window = logits_of(unwindowed, {ids});
  CHECK(max_diff(full.index({0, Slice(0, 3)}), no_window.index({0, Slice(0, 3)})) < kAtol);  // inside the window
  CHECK(max_diff(full.index({0, 7}), no_window.index({0, 7})) > 1e-3);
}

TEST_CASE("packed rows: position_ids restarting start an independent sequence", "[model][forward]") {
  auto model = random_model(tiny_config());
  const at::Tensor a = tokens({5, 9, 17});
  const at::Tensor b = tokens({3, 33, 8, 21});
  const at::Tensor packed = torch::cat({a, b}, 1);
  const at::Tensor positions = tokens({0, 1, 2, 0, 1, 2, 3});
  const at::Tensor out = logits_of(model, {packed, std::nullopt, positions});
  CHECK(max_diff(out.index({0, Slice(0, 3)}), logits_of(model, {a})[0]) < kAtol);
  CHECK(max_diff(out.index({0, Slice(3)}), logits_of(model, {b})[0]) < kAtol);
}

TEST_CASE("forward rejects misshapen inputs naming the tensor", "[model][forward]") {
  auto model = random_model(tiny_config());
  const at::Tensor ids = tokens({1, 2, 3});
  CHECK_THROWS_AS(model->forward({ids.view(-1)}), llmft::Error);
  CHECK_THROWS_WITH(model->forward({ids, torch::ones({1, 4}, torch::kLong)}), Contains("attention_mask"));
  CHECK_THROWS_WITH(model->forward({ids, std::nullopt, tokens({0, 1})}), Contains("position_ids"));
  CHECK_THROWS_WITH(model->forward({ids, std::nullopt, std::nullopt, tokens({1, 2})}), Contains("labels"));
  CHECK_THROWS_WITH(model->forward({ids.to(at::kFloat)}), Contains("input_ids"));
}
