#include "data/example_tokenizer.h"

#include "io/error.h"

namespace llmft::data {

// Tokens are placed in the rendered text by the start offsets the tokenizer reports: token bytes
// need not spell the text (sentencepiece's "▁" and dummy prefix, byte fallback, NFC), so counting
// bytes would drift.
TokenizedSample tokenize_example(const RenderedExample& example, const Tokenizer& tokenizer, bool train_on_prompt,
                                 const std::string& where) {
  TokenizedSample sample;
  if (example.prepend_bos) {
    sample.input_ids.push_back(*tokenizer.bos_id());
    sample.labels.push_back(kIgnoreIndex);
  }
  std::vector<std::size_t> offsets;
  const std::vector<int32_t> ids = tokenizer.encode_with_offsets(example.text, /*parse_special=*/true, offsets);
  if (offsets.size() != ids.size()) {
    throw Error(where + ": the tokenizer gave " + std::to_string(offsets.size()) + " offsets for " +
                std::to_string(ids.size()) + " tokens: cannot align the loss mask");
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::size_t previous = i == 0 ? 0 : offsets[i - 1];
    if (offsets[i] < previous || offsets[i] > example.text.size()) {
      throw Error(where + ": token " + std::to_string(i) + " starts at byte " + std::to_string(offsets[i]) +
                  ", outside the rendered text or before the previous token: cannot align the loss mask");
    }
  }
  // Token i stands for text [offsets[i], end_i), end_i = the next larger start (tokens of one
  // character share a start: byte fallback). It is supervised when that span overlaps a supervised
  // range, as HF's assistant masks count it: sentencepiece's "▁answer" starts at the space before
  // the answer, and a merge may join a header's "\n" with the answer's leading spaces.
  std::vector<std::size_t> ends(ids.size(), example.text.size());
  for (std::size_t i = ids.size(); i-- > 1;) {
    ends[i - 1] = offsets[i] > offsets[i - 1] ? offsets[i] : ends[i];
  }
  std::size_t range = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::size_t begin = offsets[i], end = std::max(ends[i], begin + 1);
    while (range < example.supervised.size() && example.supervised[range].second <= begin) ++range;
    const bool supervised = range < example.supervised.size() && example.supervised[range].first < end;
    sample.input_ids.push_back(ids[i]);
    sample.labels.push_back(supervised || train_on_prompt ? ids[i] : kIgnoreIndex);
  }
  if (example.append_eos) {
    sample.input_ids.push_back(*tokenizer.eos_id());
    sample.labels.push_back(*tokenizer.eos_id());
  }
  return sample;
}

}  // namespace llmft::data
