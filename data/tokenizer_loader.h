#pragma once
// The tokenizer that belongs to a model checkpoint.
#include <filesystem>
#include <memory>

#include "data/tokenizer.h"

namespace llmft::data {

// A .gguf file: its tokenizer.ggml.* vocabulary, by tokenizer.ggml.model ("gpt2" byte-level BPE,
// "llama" sentencepiece). A model directory (or a .safetensors / tokenizer.json / tokenizer.model file
// inside one): tokenizer.json when present (byte-level or sentencepiece-style BPE), else the
// sentencepiece tokenizer.model, with tokenizer_config.json's bos/eos/pad, add_bos/add_eos, added
// tokens and chat_template. Throws llmft::Error naming the file and key when none is found or it
// cannot be read.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_path);

}  // namespace llmft::data
