#pragma once
// The tokenizer a GGUF file describes in its tokenizer.ggml.* metadata (llama.cpp's key names):
//   tokenizer.ggml.model        "gpt2" = byte-level BPE, "llama" = sentencepiece BPE (scores, byte fallback)
//   tokenizer.ggml.pre          pre-tokenizer family ("llama-bpe", "qwen2", "smollm", ...; absent = "default")
//   tokenizer.ggml.tokens       the vocabulary, byte-level spelled; added tokens verbatim
//   tokenizer.ggml.token_type   1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.merges       "left right", best first (gpt2)
//   tokenizer.ggml.scores       merge priority per piece, higher first (llama)
//   tokenizer.ggml.add_space_prefix  (llama) "▁" before each text segment, default true
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id, tokenizer.ggml.add_{bos,eos}_token,
//   tokenizer.chat_template
#include <memory>

#include "data/bpe_tokenizer.h"
#include "data/sentencepiece_tokenizer.h"
#include "data/tokenizer.h"
#include "io/gguf.h"

namespace llmft::data {

// The byte-level BPE vocabulary of `file`; throws llmft::Error naming the file and key when a key
// is missing or malformed, or tokenizer.ggml.pre names an unknown pre-tokenizer.
BpeVocab read_gguf_bpe_vocab(const io::GgufFile& file);

// The sentencepiece model of a tokenizer.ggml.model = "llama" file, as a ModelProto llmft builds
// (identity normalizer, spaces as "▁", byte fallback when there are byte tokens).
SpmTokenizerSpec read_gguf_spm_spec(const io::GgufFile& file);

// The tokenizer of `file`, whatever its kind; throws llmft::Error naming the file and
// tokenizer.ggml.model when the kind is not supported.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const io::GgufFile& file);

}  // namespace llmft::data
