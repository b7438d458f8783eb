#include "data/batch.h"

#include <algorithm>

#include "io/error.h"

namespace llmft::data {

int64_t TokenizedSample::supervised_tokens() const {
  int64_t count = 0;
  for (std::size_t i = 1; i < labels.size(); ++i) count += labels[i] != kIgnoreIndex;
  return count;
}

int64_t PadWidth::of(int64_t longest) const {
  if (multiple <= 1) return longest;
  const int64_t rounded = (longest + multiple - 1) / multiple * multiple;
  return limit > 0 ? std::max(longest, std::min(rounded, limit)) : rounded;
}

Batch collate(const std::vector<const TokenizedSample*>& samples, int32_t pad_id, PadWidth pad_width) {
  if (samples.empty()) throw Error("collate: no samples");
  std::size_t longest = 0;
  bool packed = false;
  for (const TokenizedSample* sample : samples) {
    packed = packed || !sample->position_ids.empty();
    if (!sample->position_ids.empty() && sample->position_ids.size() != sample->input_ids.size()) {
      throw Error("collate: a sample has " + std::to_string(sample->input_ids.size()) + " input ids and " +
                  std::to_string(sample->position_ids.size()) + " position ids");
    }
    if (sample->labels.size() != sample->input_ids.size()) {
      throw Error("collate: a sample has " + std::to_string(sample->input_ids.size()) + " input ids and " +
                  std::to_string(sample->labels.size()) + " labels");
    }
    longest = std::max(longest, sample->input_ids.size());
  }
  if (longest == 0) throw Error("collate: every sample is empty");

  const auto rows = static_cast<int64_t>(samples.size());
  const int64_t width = pad_width.of(static_cast<int64_t>(longest));
  auto options = at::TensorOptions().dtype(at::kLong);
  Batch batch;
  batch.input_ids = at::full({rows, width}, pad_id, options);
  batch.labels = at::full({rows, width}, kIgnoreIndex, options);
  batch.attention_mask = at::zeros({rows, width}, options);
  auto ids = batch.input_ids.accessor<int64_t, 2>();
  auto labels = batch.labels.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  for (int64_t row = 0; row < rows; ++row) {
    const TokenizedSample& sample = *samples[row];
    for (std::size_t t = 0; t < sample.input_ids.size(); ++t) {
      ids[row][t] = sample.input_ids[t];
      labels[row][t] = sample.labels[t];
      mask[row][t] = 1;
    }
    batch.tokens += static_cast<int64_t>(sample.input_ids.size());
    batch.supervised_tokens += sample.supervised_tokens();
  }
  if (packed) {
    // Unpacked rows count 0..n-1; padding restarts at 0 so it forms its own block.
    batch.position_ids = at::zeros({rows, width}, options);
    auto positions = batch.position_ids.accessor<int64_t, 2>();
    for (int64_t row = 0; row < rows; ++row) {
      const TokenizedSample& sample = *samples[row];
      const auto n = static_cast<int64_t>(sample.input_ids.size());
      for (int64_t t = 0; t < width; ++t) {
        positions[row][t] = t >= n                        ? t - n
                            : sample.position_ids.empty() ? t
                                                          : sample.position_ids[static_cast<std::size_t>(t)];
      }
    }
  }
  return batch;
}

}  // namespace llmft::data
