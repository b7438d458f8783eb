#include "fuzz/targets/render_check.h"

#include "data/example_tokenizer.h"
#include "fuzz/targets/common.h"

namespace llmft::fuzz {

void check_rendered(const data::RenderedExample& example, const data::Tokenizer& tokenizer, const std::string& where) {
  size_t previous_end = 0;
  for (const auto& [begin, end] : example.supervised) {
    check(begin <= end && end <= example.text.size(), where + ": supervised range outside the rendered text");
    check(begin >= previous_end, where + ": supervised ranges overlap or are out of order");
    previous_end = end;
  }
  for (bool train_on_prompt : {false, true}) {
    const data::TokenizedSample sample = data::tokenize_example(example, tokenizer, train_on_prompt, where);
    check(sample.input_ids.size() == sample.labels.size(), where + ": one label per input id");
    for (int32_t id : sample.input_ids)
      check(id >= 0 && id < tokenizer.vocab_size(), where + ": token id outside the vocabulary");
    for (int32_t label : sample.labels)
      check(label == -100 || (label >= 0 && label < tokenizer.vocab_size()), where + ": label outside the vocabulary");
  }
}

}  // namespace llmft::fuzz
