#include "data/example_tokenizer.h"

#include "io/error.h"

namespace llmft::data {

// Byte-level BPE without a normalizer spells the text exactly, so cumulative token bytes are the
// exact offsets of each token in the text.
TokenizedSample tokenize_example(const RenderedExample& example, const Tokenizer& tokenizer, bool train_on_prompt,
                                 const std::string& where) {
  TokenizedSample sample;
  if (example.prepend_bos) {
    sample.input_ids.push_back(*tokenizer.bos_id());
    sample.labels.push_back(kIgnoreIndex);
  }
  const std::vector<int32_t> ids = tokenizer.encode(example.text, /*add_special=*/false, /*parse_special=*/true);
  std::size_t offset = 0;
  std::size_t range = 0;
  for (int32_t id : ids) {
    while (range < example.supervised.size() && example.supervised[range].second <= offset) ++range;
    const bool supervised = range < example.supervised.size() && example.supervised[range].first <= offset;
    sample.input_ids.push_back(id);
    sample.labels.push_back(supervised || train_on_prompt ? id : kIgnoreIndex);
    offset += tokenizer.token_bytes(id).size();
  }
  if (offset != example.text.size()) {
    throw Error(where + ": the tokens do not spell the rendered text (" + std::to_string(offset) + " of " +
                std::to_string(example.text.size()) + " bytes): cannot align the loss mask");
  }
  if (example.append_eos) {
    sample.input_ids.push_back(*tokenizer.eos_id());
    sample.labels.push_back(*tokenizer.eos_id());
  }
  return sample;
}

}  // namespace llmft::data
