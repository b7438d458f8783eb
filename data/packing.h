#pragma once
// Packing: several examples share one row of at most max_seq_len tokens instead of each being
// padded to the longest in its batch. In a packed row position ids restart at 0 for each example
// and attention never crosses from one example into another (the model builds a block-diagonal
// causal mask from the restarts), so every example is computed exactly as if it ran alone.
//
// Labels: the first token of each example gets -100, so the last token of the example before it is
// never trained to predict the next example's first token (each example alone never has a target
// for its first token either). Per-example losses are therefore unchanged by packing.
#include <cstdint>
#include <vector>

#include "data/batch.h"

namespace llmft::data {

struct PackingStats {
  int64_t examples = 0;
  int64_t rows = 0;
  int64_t tokens = 0;        // real tokens over all rows
  double fill = 0.0;         // tokens / (rows * row_len)
};

// Packs `samples` (each at most row_len tokens; longer ones throw llmft::Error) by best-fit
// decreasing: longest first, each into the open row with the least room that still fits it. The
// result depends only on the samples (ties broken by index), so a resumed run packs identically.
// Each returned row has position_ids set.
std::vector<TokenizedSample> pack_samples(const std::vector<TokenizedSample>& samples, int64_t row_len,
                                          PackingStats* stats = nullptr);

}  // namespace llmft::data
