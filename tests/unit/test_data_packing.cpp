// Packing: rows of several examples compute exactly what each example computes alone.
#include <vector>

#include <torch/torch.h>

#include "data/batch.h"
#include "data/packing.h"
#include "model/llama.h"
#include "tests/support/catch.h"
#include "tests/support/tiny_llama.h"

#if LLMFT_CATCH2_V3
using Catch::Approx;
#endif

using namespace llmft;
using data::kIgnoreIndex;
using data::TokenizedSample;

namespace {

constexpr double kAtol = 1e-5;  // fp32: the same math, only the attention mask's shape differs

TokenizedSample sample_of(std::vector<int32_t> ids, int32_t masked_prefix = 0) {
  TokenizedSample s;
  s.input_ids = ids;
  s.labels = ids;
  for (int32_t i = 0; i < masked_prefix; ++i) s.labels[i] = kIgnoreIndex;
  return s;
}

std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids;
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; ++i) {
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    ids.push_back(int32_t((x * 0x2545F4914F6CDD1Dull) >> 33) % int32_t(vocab));
  }
  return ids;
}

// Per-token next-token cross-entropy [T-1] and logits [T, V] of one example run alone.
struct Alone {
  at::Tensor logits, token_losses;
};

Alone run_alone(model::LlamaForCausalLMImpl& model, const TokenizedSample& s) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(s.input_ids.begin(), s.input_ids.end());
  const at::Tensor logits = model.forward({torch::tensor(ids).unsqueeze(0)}).logits[0];  // [T, V]
  std::vector<int64_t> labels(s.labels.begin() + 1, s.labels.end());
  const at::Tensor losses = at::cross_entropy_loss(logits.slice(0, 0, -1), torch::tensor(labels), {},
                                                   at::Reduction::None, kIgnoreIndex);
  return {logits, losses};
}

}  // namespace

TEST_CASE("pack_samples: best-fit decreasing rows, restarting positions, no target across examples", "[data][packing]") {
  std::vector<TokenizedSample> samples;
  for (int32_t n : {5, 3, 4, 2, 6}) samples.push_back(sample_of(std::vector<int32_t>(size_t(n), n)));
  data::PackingStats stats;
  const auto rows = data::pack_samples(samples, 8, &stats);
  // 6 opens row 0, 5 row 1, 4 row 2 (no room for it), 3 fills row 1, 2 fills row 0.
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].input_ids == std::vector<int32_t>{6, 6, 6, 6, 6, 6, 2, 2});
  CHECK(rows[0].position_ids == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 0, 1});
  CHECK(rows[0].labels == std::vector<int32_t>{kIgnoreIndex, 6, 6, 6, 6, 6, kIgnoreIndex, 2});
  CHECK(rows[1].input_ids == std::vector<int32_t>{5, 5, 5, 5, 5, 3, 3, 3});
  CHECK(rows[2].input_ids == std::vector<int32_t>{4, 4, 4, 4});
  CHECK(stats.rows == 3);
  CHECK(stats.examples == 5);
  CHECK(stats.tokens == 20);
  CHECK(stats.fill == Approx(20.0 / 24.0));
  // Packing never changes what is trained: supervised targets are the examples' own.
  int64_t alone = 0, packed = 0;
  for (const auto& s : samples) alone += s.supervised_tokens();
  for (const auto& r : rows) packed += r.supervised_tokens();
  CHECK(packed == alone);
  CHECK_THROWS_WITH(data::pack_samples(samples, 5), llmft::test::Contains("example 4 has 6 tokens, more than the row length 5"));
}

TEST_CASE("a packed batch gives every example the logits and losses it has alone", "[data][packing]") {
  model::LlamaForCausalLM model(testing::tiny_config());
  testing::randomize(*model, 3);
  model->eval();
  const int64_t vocab = testing::tiny_config().vocab_size;
  std::vector<TokenizedSample> samples;
  const int64_t lengths[] = {9, 4, 13, 6, 7, 3};
  for (std::size_t i = 0; i < std::size(lengths); ++i) {
    samples.push_back(sample_of(random_ids(lengths[i], vocab, i + 1), /*masked_prefix=*/int32_t(i % 3)));
  }
  // Rows of 16: [13, 3], [9, 7], [6, 4]. Make the last row shorter so the batch has padding.
  auto rows = data::pack_samples(samples, 16);
  REQUIRE(rows.size() == 3);
  const data::Batch batch = data::collate({&rows[0], &rows[1], &rows[2]}, /*pad_id=*/0);
  REQUIRE(batch.position_ids.defined());
  REQUIRE(batch.input_ids.size(1) == 16);

  at::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    model::ForwardArgs args{batch.input_ids};
    args.position_ids = batch.position_ids;  // packed: no attention_mask, as training passes it
    logits = model->forward(args).logits;  // [3, 16, V]
  }
  const at::Tensor targets = at::constant_pad_nd(batch.labels, {0, 1}, kIgnoreIndex).slice(1, 1);  // [3, 16]
  const at::Tensor packed_losses =
      at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}), {}, at::Reduction::None,
                             kIgnoreIndex)
          .view({3, 16});

  // Find each example in its row by its ids, then compare.
  int checked = 0;
  for (int64_t r = 0; r < 3; ++r) {
    int64_t at_pos = 0;
    const auto& row = rows[size_t(r)];
    while (at_pos < int64_t(row.input_ids.size())) {
      int64_t n = 1;
      while (at_pos + n < int64_t(row.input_ids.size()) && row.position_ids[size_t(at_pos + n)] != 0) ++n;
      const std::vector<int32_t> ids(row.input_ids.begin() + at_pos, row.input_ids.begin() + at_pos + n);
      const TokenizedSample* original = nullptr;
      for (const auto& s : samples) {
        if (s.input_ids == ids) original = &s;
      }
      REQUIRE(original != nullptr);
      const Alone alone = run_alone(*model, *original);
      INFO("row " << r << " offset " << at_pos << " length " << n);
      CHECK((logits[r].slice(0, at_pos, at_pos + n) - alone.logits).abs().max().item<double>() < kAtol);
      // The example's own targets: positions at_pos .. at_pos+n-2 (the last one's target is the
      // next example's first token, masked by packing).
      const at::Tensor packed = packed_losses[r].slice(0, at_pos, at_pos + n - 1);
      CHECK((packed - alone.token_losses).abs().max().item<double>() < kAtol);
      if (at_pos + n < int64_t(row.input_ids.size())) CHECK(packed_losses[r][at_pos + n - 1].item<double>() == 0.0);
      at_pos += n;
      ++checked;
    }
  }
  CHECK(checked == int(std::size(lengths)));
}
