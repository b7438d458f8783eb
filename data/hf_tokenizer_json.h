#pragma once
// Hugging Face tokenizer files -> a BpeVocab (the reverse of data/hf_tokenizer_export.h).
//
// Read from tokenizer.json (`tokenizers` library format):
//   model            {"type": "BPE", "vocab": {token: id}, "merges": ["a b" | ["a", "b"]], "ignore_merges"}
//   added_tokens     [{"id", "content", "special"}]: special -> Control, else UserDefined
//   pre_tokenizer    ByteLevel(use_regex) | Digits | Split(Regex|String, behavior Isolated), alone or
//                    in a Sequence; mapped to the regex list BpePretokenizer runs
//   post_processor   TemplateProcessing: a special token before $A is BOS, after $A is EOS
//   normalizer       null, or NFC (Qwen2), alone or in a Sequence
// Read from tokenizer_config.json (optional): bos/eos/pad/unk_token (a string or {"content": ...}),
// add_bos_token/add_eos_token when there is no TemplateProcessing, chat_template (string or the
// named list form, "default" entry); chat_template.jinja beside it takes precedence, as in
// transformers. Anything else (WordPiece, Unigram, other normalizers) throws llmft::Error naming
// the file and key: not supported yet. The sentencepiece flavour of tokenizer.json (BPE with
// byte_fallback, "▁" for spaces) is read by data/sentencepiece_hf.h; load_hf_tokenizer picks.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "data/bpe_tokenizer.h"

namespace llmft::data {

// `tokenizer_json` parsed from `source` (named in errors); `config` may be null.
BpeVocab bpe_vocab_from_hf_json(const nlohmann::json& tokenizer_json, const nlohmann::json& config,
                                const std::string& source);

// The files of model directory `dir` (tokenizer.json required).
BpeVocab read_hf_bpe_vocab(const std::filesystem::path& dir);

// The tokenizer of model directory `dir`, as transformers' fast tokenizer loads it: tokenizer.json
// (byte-level or sentencepiece-style BPE) when present, else a sentencepiece tokenizer.model.
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& dir);

}  // namespace llmft::data
