#pragma once
// A rendered example (text + supervised byte ranges) -> token ids with loss labels.
#include <string>

#include "data/batch.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace llmft::data {

// Tokenizes the whole rendered text at once (ids identical to tokenizing it in one call, as
// transformers' apply_chat_template does) and labels each token by the text it stands for
// (placed by Tokenizer::encode_with_offsets): supervised when that text overlaps a supervised range
// (every token when train_on_prompt). BOS/EOS are added as the example asks.
// Throws llmft::Error prefixed with `where` when the tokens cannot be aligned with the text.
TokenizedSample tokenize_example(const RenderedExample& example, const Tokenizer& tokenizer, bool train_on_prompt,
                                 const std::string& where);

}  // namespace llmft::data
