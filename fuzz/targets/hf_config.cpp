// hf_config: the bytes as config.json -> nlohmann::json -> model::parse_hf_config, as
// model::load_hf_config reads it (a JSON syntax error is an llmft::Error there too). A config that
// parses must survive the round trip through to_hf_config_json (what `llmft convert`/`merge` write).
#include <nlohmann/json.hpp>

#include "fuzz/targets/common.h"
#include "io/error.h"
#include "model/hf_config.h"

namespace llmft::fuzz {

void hf_config(const uint8_t* data, size_t size) {
  using nlohmann::json;
  json parsed;
  try {
    parsed = json::parse(data, data + size);
  } catch (const json::exception&) {  // load_hf_config: "<file>: invalid JSON: ..." (as llmft::Error)
    return;
  }
  model::LlamaConfig config;
  try {
    config = model::parse_hf_config(parsed, "config.json");
  } catch (const Error&) {
    return;
  }
  const json written = model::to_hf_config_json(config);
  model::LlamaConfig reread;
  try {
    reread = model::parse_hf_config(json::parse(written.dump()), "written config.json");
  } catch (const Error& e) {
    throw InvariantViolation(std::string("config.json accepted but its written form is rejected: ") + e.what());
  }
  check(reread == config, "config.json round trip through to_hf_config_json changed the config");
}

}  // namespace llmft::fuzz
