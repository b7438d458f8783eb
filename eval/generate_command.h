#pragma once
// `llmft generate`: load a model (and adapter) with its tokenizer, then answer one prompt, a file
// of prompts, or an interactive chat, streaming text as tokens arrive.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "eval/sampling.h"

namespace llmft::eval {

struct GenerateCommand {
  std::string model;                                  // directory, .gguf file or alias
  std::optional<std::filesystem::path> adapter;       // PEFT adapter directory
  std::optional<std::string> prompt;                  // --prompt
  std::optional<std::filesystem::path> prompts_file;  // --prompts
  bool chat = false;                                  // --chat: read user turns from `in`
  std::string template_name = "auto";
  std::optional<std::string> system;
  int64_t max_new_tokens = 256;
  SamplingOptions sampling;
  std::vector<std::string> stop_strings;
  bool json = false;  // one JSON object per prompt instead of streamed text
  c10::ScalarType dtype = c10::ScalarType::Float;
  c10::Device device = c10::Device(c10::kCPU);
};

// Returns the exit code. Generated text goes to `out`; progress and chat prompts ("> ") to `log`,
// the latter only when `interactive`. Throws llmft::Error for user mistakes.
int run_generate_command(const GenerateCommand& command, std::istream& in, std::ostream& out, std::ostream& log,
                         bool interactive);

}  // namespace llmft::eval
