// Gradient accumulation: the loss of every micro-batch is normalised by the whole window's
// supervised tokens, so splitting a window differently leaves the gradient unchanged.
#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "data/batch.h"
#include "lora/inject.h"
#include "lora/lora_linear.h"
#include "tests/support/catch.h"
#include "tests/support/tiny_llama.h"
#include "train/accumulate.h"

using namespace llmft;

namespace {

struct Example {
  std::vector<int64_t> ids;
  int64_t prompt = 0;  // leading tokens whose labels are -100
};

// Right-padded micro-batch of examples [first, last) (what data::collate produces).
data::Batch pad_batch(const std::vector<Example>& examples, size_t first, size_t last) {
  int64_t T = 0;
  for (size_t i = first; i < last; ++i) T = std::max<int64_t>(T, examples[i].ids.size());
  const int64_t B = static_cast<int64_t>(last - first);
  data::Batch b;
  b.input_ids = torch::zeros({B, T}, at::kLong);
  b.labels = torch::full({B, T}, data::kIgnoreIndex, at::kLong);
  b.attention_mask = torch::zeros({B, T}, at::kLong);
  for (int64_t r = 0; r < B; ++r) {
    const Example& e = examples[first + r];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      b.input_ids[r][t] = e.ids[t];
      b.attention_mask[r][t] = 1;
      if (static_cast<int64_t>(t) >= e.prompt) b.labels[r][t] = e.ids[t];
    }
  }
  b.supervised_tokens = (b.labels.slice(1, 1) != data::kIgnoreIndex).sum().item<int64_t>();
  b.tokens = b.attention_mask.sum().item<int64_t>();
  return b;
}

std::vector<Example> examples(int64_t count, int64_t vocab, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<Example> out;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t len = 5 + (i * 7) % 12;  // 5..16: every micro-batch is padded
    const at::Tensor ids = at::randint(3, vocab, {len}, gen, at::TensorOptions().dtype(at::kLong));
    out.push_back({std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + len), i % 4});
  }
  return out;
}

// Tiny Llama with all-linear LoRA (dropout 0) and non-zero B, so every adapter gets a gradient.
model::LlamaForCausalLM lora_model() {
  model::LlamaForCausalLM m(testing::tiny_config());
  testing::randomize(*m, 5);
  lora::LoraOptions o;
  o.target_modules = {"all-linear"};
  o.rank = 4;
  o.seed = 9;
  lora::inject_lora(*m, o);
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(77);
  for (auto& w : lora::lora_modules(*m))
    w.module->lora_B->weight.copy_(at::normal(0.0, 0.2, w.module->lora_B->weight.sizes(), gen));
  return m;
}

std::map<std::string, at::Tensor> grads_and_reset(model::LlamaForCausalLMImpl& m) {
  std::map<std::string, at::Tensor> out;
  for (auto& p : m.named_parameters()) {
    if (!p.value().grad().defined()) continue;
    out[p.key()] = p.value().grad().clone();
    p.value().mutable_grad() = at::Tensor();
  }
  return out;
}

}  // namespace

TEST_CASE("forward_backward: batch 8 x accum 1 gives the gradients of batch 2 x accum 4", "[train][accumulate]") {
  auto m = lora_model();
  const auto ex = examples(8, 64, 1);

  const auto whole = train::forward_backward(*m, {pad_batch(ex, 0, 8)}, at::kCPU);
  const auto g_whole = grads_and_reset(*m);
  std::vector<data::Batch> split;
  for (size_t i = 0; i < 8; i += 2) split.push_back(pad_batch(ex, i, i + 2));
  const auto parts = train::forward_backward(*m, split, at::kCPU);
  const auto g_parts = grads_and_reset(*m);

  CHECK(whole.supervised_tokens == parts.supervised_tokens);
  CHECK(whole.tokens == parts.tokens);
  int64_t expected_supervised = 0, expected_tokens = 0;
  for (const auto& e : ex) {
    expected_tokens += static_cast<int64_t>(e.ids.size());
    expected_supervised += static_cast<int64_t>(e.ids.size()) - std::max<int64_t>(e.prompt, 1);
  }
  CHECK(whole.supervised_tokens == expected_supervised);
  CHECK(whole.tokens == expected_tokens);
  CHECK(parts.loss == Approx(whole.loss).epsilon(1e-6));

  // The window mean is what the model's own mean loss gives on the whole batch.
  const auto b = pad_batch(ex, 0, 8);
  const double model_loss = m->forward({b.input_ids, b.attention_mask, std::nullopt, b.labels}).loss.item<double>();
  CHECK(whole.loss == Approx(model_loss).epsilon(1e-6));
  m->zero_grad();

  REQUIRE(g_whole.size() == lora::lora_modules(*m).size() * 2);  // adapters only: the base is frozen
  REQUIRE(g_parts.size() == g_whole.size());
  double worst = 0;
  for (const auto& [name, g] : g_whole) {
    INFO(name);
    REQUIRE(g_parts.count(name) == 1);
    CHECK(g.abs().max().item<double>() > 1e-4);
    const double diff = (g - g_parts.at(name)).abs().max().item<double>();
    worst = std::max(worst, diff);
    CHECK(diff <= 1e-6);
  }
  WARN("batch 8 x 1 vs 2 x 4: worst adapter gradient |diff| " << worst << ", loss " << whole.loss << " vs "
                                                                << parts.loss);
}

TEST_CASE("forward_backward: a window without supervised tokens does nothing", "[train][accumulate]") {
  auto m = lora_model();
  auto ex = examples(2, 64, 2);
  for (auto& e : ex) e.prompt = static_cast<int64_t>(e.ids.size());
  const auto r = train::forward_backward(*m, {pad_batch(ex, 0, 2)}, at::kCPU);
  CHECK(r.loss == 0.0);
  CHECK(r.supervised_tokens == 0);
  CHECK(r.tokens > 0);
  CHECK(grads_and_reset(*m).empty());
}

TEST_CASE("evaluate: mean CE and token accuracy without grad, training mode restored", "[train][accumulate]") {
  auto m = lora_model();
  const auto ex = examples(6, 64, 3);
  const std::vector<data::Batch> batches = {pad_batch(ex, 0, 3), pad_batch(ex, 3, 6)};
  m->train();
  const auto e = train::evaluate(*m, batches, at::kCPU);
  CHECK(m->is_training());
  CHECK(grads_and_reset(*m).empty());
  const auto fb = train::forward_backward(*m, batches, at::kCPU);  // dropout 0: same logits
  CHECK(e.supervised_tokens == fb.supervised_tokens);
  CHECK(e.loss == Approx(fb.loss).epsilon(1e-6));
  CHECK(e.correct >= 0);
  CHECK(e.correct <= e.supervised_tokens);

  // Accuracy counts argmax == next-token label over supervised positions.
  int64_t correct = 0;
  {
    torch::NoGradGuard no_grad;
    for (const auto& b : batches) {
      const at::Tensor pred = m->forward({b.input_ids, b.attention_mask}).logits.argmax(-1).slice(1, 0, -1);
      const at::Tensor target = b.labels.slice(1, 1);
      correct += ((pred == target) & (target != data::kIgnoreIndex)).sum().item<int64_t>();
    }
  }
  CHECK(e.correct == correct);
  m->eval();
  train::evaluate(*m, batches, at::kCPU);
  CHECK_FALSE(m->is_training());
}

TEST_CASE("evaluate and forward_backward: extra padding columns change neither loss nor gradients",
          "[train][accumulate]") {
  // data.pad_to_multiple_of widens batches with masked, unlabelled columns; the model must not see them.
  auto m = lora_model();
  const auto ex = examples(4, 64, 11);
  std::vector<data::TokenizedSample> samples;
  for (const Example& e : ex) {
    data::TokenizedSample s;
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      s.input_ids.push_back(static_cast<int32_t>(e.ids[i]));
      s.labels.push_back(static_cast<int64_t>(i) < e.prompt ? data::kIgnoreIndex : static_cast<int32_t>(e.ids[i]));
    }
    samples.push_back(std::move(s));
  }
  const std::vector<const data::TokenizedSample*> picked{&samples[0], &samples[1], &samples[2], &samples[3]};
  const std::vector<data::Batch> plain{data::collate(picked, 0)};
  const std::vector<data::Batch> padded{data::collate(picked, 0, data::PadWidth{64, 0})};
  REQUIRE(padded[0].input_ids.size(1) > plain[0].input_ids.size(1));

  const auto e_plain = train::evaluate(*m, plain, at::kCPU);
  const auto e_padded = train::evaluate(*m, padded, at::kCPU);
  CHECK(e_padded.supervised_tokens == e_plain.supervised_tokens);
  CHECK(e_padded.loss == Approx(e_plain.loss).epsilon(1e-6));  // fp32 kernels over different widths

  train::forward_backward(*m, plain, at::kCPU);
  const auto g_plain = grads_and_reset(*m);
  train::forward_backward(*m, padded, at::kCPU);
  const auto g_padded = grads_and_reset(*m);
  REQUIRE(g_plain.size() == g_padded.size());
  REQUIRE_FALSE(g_plain.empty());
  for (const auto& [name, grad] : g_plain) {
    INFO(name);
    REQUIRE(g_padded.count(name) == 1);
    // Wider products sum in another order: fp32 rounding, ~1e-6 of the gradient's scale here.
    const double diff = (g_padded.at(name) - grad).abs().max().item<double>();
    const double scale = grad.abs().max().item<double>();
    CHECK(diff <= 1e-5 * scale);
  }
}
