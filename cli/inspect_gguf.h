#pragma once
// `llmft inspect FILE.gguf`: metadata (long arrays summarised), the tensor table with quantization
// types, the HF model it maps to, and every inconsistency with that architecture's tensor table.
#include <filesystem>

namespace llmft::cli {
int inspect_gguf(const std::filesystem::path& path);
}  // namespace llmft::cli
