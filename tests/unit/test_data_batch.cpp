// collate(): right padding, -100 labels on padding, attention mask and the token counts.
#include "data/batch.h"
#include "io/error.h"
#include "tests/support/catch.h"

using namespace llmft::data;

TEST_CASE("supervised_tokens counts labels after the causal shift", "[data]") {
  TokenizedSample sample{{5, 6, 7, 8}, {5, kIgnoreIndex, 7, 8}};
  CHECK(sample.supervised_tokens() == 2);  // position 0 is never a target
  TokenizedSample empty;
  CHECK(empty.supervised_tokens() == 0);
}

TEST_CASE("collate right-pads to the longest sample", "[data]") {
  const TokenizedSample a{{1, 2, 3}, {kIgnoreIndex, 2, 3}};
  const TokenizedSample b{{4, 5, 6, 7, 8}, {kIgnoreIndex, kIgnoreIndex, 6, kIgnoreIndex, 8}};
  const Batch batch = collate({&a, &b}, /*pad_id=*/0);
  REQUIRE(batch.input_ids.sizes() == at::IntArrayRef({2, 5}));
  CHECK(batch.input_ids.scalar_type() == at::kLong);
  CHECK(batch.labels.scalar_type() == at::kLong);
  CHECK(batch.attention_mask.scalar_type() == at::kLong);
  CHECK(at::equal(batch.input_ids, at::tensor({1, 2, 3, 0, 0, 4, 5, 6, 7, 8}, at::kLong).view({2, 5})));
  CHECK(at::equal(batch.labels,
                  at::tensor({-100, 2, 3, -100, -100, -100, -100, 6, -100, 8}, at::kLong).view({2, 5})));
  CHECK(at::equal(batch.attention_mask, at::tensor({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, at::kLong).view({2, 5})));
  CHECK(batch.tokens == 8);
  CHECK(batch.supervised_tokens == 4);
  // The stated meaning of supervised_tokens: labels[:, 1:] != -100.
  CHECK(batch.supervised_tokens == batch.labels.slice(1, 1).ne(kIgnoreIndex).sum().item<int64_t>());
}

TEST_CASE("collate rejects empty input and mismatched labels", "[data]") {
  CHECK_THROWS_AS(collate({}, 0), llmft::Error);
  const TokenizedSample bad{{1, 2}, {1}};
  CHECK_THROWS_WITH(collate({&bad}, 0), llmft::test::Contains("2 input ids and 1 labels"));
}

TEST_CASE("pad_to_multiple_of: widths round up, capped at max_seq_len unless an example is longer", "[data]") {
  const PadWidth none;
  CHECK(none.of(13) == 13);
  const PadWidth eight{8, 0};
  CHECK(eight.of(1) == 8);
  CHECK(eight.of(8) == 8);
  CHECK(eight.of(13) == 16);
  const PadWidth capped{64, 100};
  CHECK(capped.of(37) == 64);
  CHECK(capped.of(65) == 100);   // 128 would pass max_seq_len
  CHECK(capped.of(100) == 100);
  CHECK(capped.of(101) == 101);  // never narrower than the longest example

  const TokenizedSample a{{1, 2, 3}, {kIgnoreIndex, 2, 3}};
  const TokenizedSample b{{4, 5, 6, 7, 8}, {kIgnoreIndex, kIgnoreIndex, 6, kIgnoreIndex, 8}};
  const Batch plain = collate({&a, &b}, /*pad_id=*/0);
  const Batch padded = collate({&a, &b}, /*pad_id=*/0, PadWidth{8, 0});
  REQUIRE(padded.input_ids.sizes() == at::IntArrayRef({2, 8}));
  // The extra columns are padding: pad id, label -100, mask 0; the counts do not change.
  CHECK(at::equal(padded.input_ids.slice(1, 0, 5), plain.input_ids));
  CHECK(at::equal(padded.labels.slice(1, 0, 5), plain.labels));
  CHECK(at::equal(padded.attention_mask.slice(1, 0, 5), plain.attention_mask));
  CHECK(padded.input_ids.slice(1, 5).eq(0).all().item<bool>());
  CHECK(padded.labels.slice(1, 5).eq(kIgnoreIndex).all().item<bool>());
  CHECK(padded.attention_mask.slice(1, 5).eq(0).all().item<bool>());
  CHECK(padded.tokens == plain.tokens);
  CHECK(padded.supervised_tokens == plain.supervised_tokens);
}
