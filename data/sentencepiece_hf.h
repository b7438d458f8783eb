#pragma once
// Sentencepiece tokenizers in Hugging Face model directories:
//  - tokenizer.model (a serialized sentencepiece ModelProto, Llama-2 / Mistral / TinyLlama), loaded
//    into libsentencepiece as is, with tokenizer_config.json beside it (bos/eos/pad/unk_token,
//    add_bos_token/add_eos_token, added_tokens_decoder, chat_template) and chat_template.jinja;
//    each text segment between special tokens is encoded by sentencepiece with its dummy prefix,
//    as llama.cpp and transformers' legacy Llama tokenizer do;
//  - the sentencepiece flavour of tokenizer.json, what transformers writes when it converts such a
//    model: model BPE with byte_fallback and "▁" for spaces, either through a normalizer
//    Sequence [Prepend("▁"), Replace(" ", "▁")] (every segment gets the prefix) or a Metaspace
//    pre-tokenizer (prepend_scheme first / always / never, split). It becomes a ModelProto whose
//    piece scores follow the merge ranks, so sentencepiece's best-score-first merging performs
//    HF's lowest-rank-first merges.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"

namespace llmft::data {

// Whether tokenizer.json describes sentencepiece-style BPE rather than byte-level BPE.
bool is_sentencepiece_style_json(const nlohmann::json& tokenizer_json);

// Throws llmft::Error naming `source` and the key for what is not supported.
std::unique_ptr<Tokenizer> spm_tokenizer_from_hf_json(const nlohmann::json& tokenizer_json,
                                                      const nlohmann::json& config, const std::filesystem::path& dir,
                                                      const std::string& source);

// `dir`/tokenizer.model with dir's tokenizer_config.json and chat_template.jinja.
std::unique_ptr<Tokenizer> load_sentencepiece_dir(const std::filesystem::path& dir);

}  // namespace llmft::data
