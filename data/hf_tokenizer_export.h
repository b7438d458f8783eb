#pragma once
// A byte-level BPE vocabulary -> the Hugging Face tokenizer files (tokenizer.json,
// tokenizer_config.json) that transformers' AutoTokenizer and the `tokenizers` library load, giving
// the same ids as llmft's BpeTokenizer: the pre-tokenizer regexes become a Sequence of Split
// (behavior Isolated) followed by ByteLevel without its own regex.
#include <nlohmann/json.hpp>

#include "data/bpe_tokenizer.h"

namespace llmft::data {

nlohmann::json hf_tokenizer_json(const BpeVocab& vocab);

// `model_max_length`: the model's context length.
nlohmann::json hf_tokenizer_config_json(const BpeVocab& vocab, int64_t model_max_length);

}  // namespace llmft::data
