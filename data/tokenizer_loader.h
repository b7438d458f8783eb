#pragma once
// The tokenizer that belongs to a model checkpoint.
#include <filesystem>
#include <memory>

#include "data/tokenizer.h"

namespace llmft::data {

// A .gguf file: its tokenizer.ggml.* vocabulary. A model directory (or a .safetensors file inside
// one): tokenizer.json (byte-level BPE) with tokenizer_config.json's bos/eos/pad, add_bos/add_eos and
// chat_template. Throws llmft::Error naming the file when none is found or it cannot be read.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_path);

}  // namespace llmft::data
