#pragma once
// A model directory in the Hugging Face layout that transformers' from_pretrained loads: sharded
// safetensors (+ model.safetensors.index.json), config.json, generation_config.json and the
// tokenizer files of the model it came from (exported from GGUF metadata, or copied from the source
// directory).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"

namespace llmft::recipes {

inline constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;  // transformers' default "5GB"

// Tokenizer and generation files for `source_model` (a .gguf file or an HF directory / file in one)
// written into `out_dir`.
void write_tokenizer_files(const std::filesystem::path& out_dir, const std::filesystem::path& source_model,
                           const model::LlamaConfig& config);

// Weights (tensors in HF names and the wanted dtype) + config.json + tokenizer files into out_dir.
void write_hf_model(const std::filesystem::path& out_dir, const std::vector<io::NamedTensor>& tensors,
                    const model::LlamaConfig& config, const std::filesystem::path& source_model,
                    uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace llmft::recipes
