#pragma once
// config.json (Hugging Face) -> LlamaConfig. Accepts both transformers 4 spelling (rope_theta,
// rope_scaling, torch_dtype) and transformers 5 spelling (rope_parameters, dtype).
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/config.h"

namespace llmft::model {

// Throws llmft::Error naming the file and key: unreadable/malformed JSON, a missing required
// field, a value of the wrong type or out of range, an unsupported architecture (named).
LlamaConfig load_hf_config(const std::filesystem::path& config_json);
LlamaConfig parse_hf_config(const nlohmann::json& json, const std::string& source_name);

// LlamaConfig -> config.json that transformers loads (used when writing checkpoints).
nlohmann::json to_hf_config_json(const LlamaConfig& config);

}  // namespace llmft::model
