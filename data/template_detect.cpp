#include "data/template_detect.h"

namespace llmft::data {
namespace {

bool has(const std::string& text, const char* marker) { return text.find(marker) != std::string::npos; }

// A short, one-line excerpt of a template for an error message.
std::string excerpt(const std::string& jinja) {
  std::string out;
  for (char c : jinja.substr(0, 48)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  return "'" + out + (jinja.size() > 48 ? "...'" : "'");
}

}  // namespace

TemplateDetection detect_chat_template(const std::string& jinja) {
  if (has(jinja, "<|im_start|>")) {
    // SmolLM3 wraps ChatML in a metadata header and <think> blocks that plain ChatML does not write.
    if (has(jinja, "<think>") || has(jinja, "reasoning_mode") || has(jinja, "enable_thinking"))
      return {std::nullopt, "ChatML with a reasoning-mode system header and <think> blocks (SmolLM3 style)"};
    return {"chatml", "ChatML (<|im_start|>)"};
  }
  if (has(jinja, "<|start_header_id|>")) return {"llama3", "Llama 3 (<|start_header_id|>)"};
  if (has(jinja, "[INST]")) {
    if (has(jinja, "<<SYS>>")) return {"llama2", "Llama 2 ([INST] with <<SYS>>)"};
    // Mistral-7B-Instruct v0.1-v0.3 write "[INST] " with a space (and strip answers); Nemo does not.
    if (has(jinja, "'[INST] '") || has(jinja, "\"[INST] \""))
      return {std::nullopt, "Mistral [INST] with spaces ('[INST] ', Mistral-7B-Instruct v0.1-v0.3 style)"};
    return {"mistral", "Mistral ([INST] without <<SYS>>)"};
  }
  if (has(jinja, "<start_of_turn>")) return {std::nullopt, "Gemma (<start_of_turn>)"};
  if (has(jinja, "<|user|>")) return {std::nullopt, "Phi-3 (<|user|> ... <|end|>)"};
  return {std::nullopt, "an unrecognised template " + excerpt(jinja)};
}

bool llama3_has_knowledge_header(const std::string& jinja) { return has(jinja, "Cutting Knowledge Date"); }

}  // namespace llmft::data
