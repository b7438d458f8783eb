// The KV cache: logits from a prefill followed by incremental steps equal one full forward over the
// same tokens (fp32, within 1e-5), for GQA, Qwen2 biases and Mistral's sliding window.
#include <torch/torch.h>

#include "io/error.h"
#include "model/kv_cache.h"
#include "model/llama.h"
#include "tests/support/catch.h"
#include "tests/support/tiny_llama.h"

using namespace llmft;

namespace {

constexpr double kTolerance = 1e-5;

// Feeds ids [1, T] in chunks of the given sizes through the cache; -> logits [1, T, V].
at::Tensor cached_logits(model::LlamaForCausalLMImpl& m, const at::Tensor& ids, const std::vector<int64_t>& chunks) {
  model::KVCache cache = m.make_cache(1, ids.size(1));
  std::vector<at::Tensor> parts;
  int64_t at = 0;
  for (int64_t n : chunks) {
    parts.push_back(m.forward_cached(ids.slice(1, at, at + n), cache));
    at += n;
  }
  REQUIRE(at == ids.size(1));
  REQUIRE(cache.length() == ids.size(1));
  return at::cat(parts, 1);
}

}  // namespace

TEST_CASE("kv cache: prefill + incremental steps equal the full forward", "[generate][kv_cache]") {
  struct Case {
    const char* name;
    model::Architecture arch;
    std::optional<int64_t> window;
  };
  for (const Case& c : {Case{"llama gqa", model::Architecture::Llama, std::nullopt},
                        Case{"qwen2 bias", model::Architecture::Qwen2, std::nullopt},
                        Case{"mistral window 4", model::Architecture::Mistral, 4}}) {
    INFO(c.name);
    model::LlamaConfig config = testing::tiny_config(c.arch);
    config.sliding_window = c.window;
    model::LlamaForCausalLM m(config);
    testing::randomize(*m, 11);
    m->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor ids = at::randint(0, config.vocab_size, {1, 12}, at::TensorOptions().dtype(at::kLong));
    const at::Tensor full = m->forward({ids}).logits;  // [1, 12, V]

    // prefill 5, then one token per step; prefill 1 then a chunk of 4 (a masked multi-token step)
    for (const std::vector<int64_t>& chunks :
         {std::vector<int64_t>{5, 1, 1, 1, 1, 1, 1, 1}, std::vector<int64_t>{1, 4, 1, 6}, std::vector<int64_t>{12}}) {
      const at::Tensor cached = cached_logits(*m, ids, chunks);
      REQUIRE(cached.sizes() == full.sizes());
      const double diff = (cached - full).abs().max().item<double>();
      INFO("chunks " << chunks.size() << " max |diff| " << diff);
      CHECK(diff <= kTolerance);
    }
  }
}

TEST_CASE("kv cache: last_only returns the last position's logits", "[generate][kv_cache]") {
  model::LlamaForCausalLM m(testing::tiny_config());
  testing::randomize(*m, 3);
  m->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor ids = at::arange(7, at::TensorOptions().dtype(at::kLong)).view({1, 7});
  const at::Tensor full = m->forward({ids}).logits;
  model::KVCache cache = m->make_cache(1, 8);
  const at::Tensor last = m->forward_cached(ids, cache, /*last_only=*/true);
  REQUIRE(last.sizes() == at::IntArrayRef({1, 1, 64}));
  CHECK((last[0][0] - full[0][6]).abs().max().item<double>() <= kTolerance);
}

TEST_CASE("kv cache: writing past its capacity is an error", "[generate][kv_cache]") {
  model::LlamaForCausalLM m(testing::tiny_config());
  testing::randomize(*m, 3);
  torch::NoGradGuard no_grad;
  model::KVCache cache = m->make_cache(1, 4);
  m->forward_cached(at::zeros({1, 4}, at::kLong), cache);
  CHECK_THROWS_AS(m->forward_cached(at::zeros({1, 1}, at::kLong), cache), Error);
}

TEST_CASE("kv cache: the decode mask follows HF's sliding window", "[generate][kv_cache]") {
  // past 6, one new query at position 6, window 4: keys 3..6 visible.
  const at::Tensor mask = model::cached_attention_mask(6, 1, 4, at::kCPU);
  REQUIRE(mask.sizes() == at::IntArrayRef({1, 1, 1, 7}));
  const std::vector<bool> expected{false, false, false, true, true, true, true};
  for (int64_t j = 0; j < 7; ++j) CHECK(mask[0][0][0][j].item<bool>() == expected[static_cast<std::size_t>(j)]);
  CHECK_FALSE(model::cached_attention_mask(6, 1, std::nullopt, at::kCPU).defined());  // attend to all
  CHECK_FALSE(model::cached_attention_mask(0, 5, std::nullopt, at::kCPU).defined());  // is_causal prefill
  CHECK(model::cached_attention_mask(3, 2, std::nullopt, at::kCPU).defined());        // rectangular causal
}
