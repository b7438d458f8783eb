#include "data/template_renderer.h"

#include <algorithm>

#include "data/chat_template_llama.h"
#include "data/chat_template_mistral.h"
#include "data/template_detect.h"
#include "io/error.h"

namespace llmft::data {
namespace {

constexpr const char* kChatTemplates = "chatml, llama3, llama2, mistral, custom";

bool is_known(const std::string& name) {
  return is_chat_template(name) || name == "alpaca" || name == "none";
}

std::string token_text(const Tokenizer& tokenizer, std::optional<int32_t> id) {
  return id ? tokenizer.id_to_token(*id) : std::string();
}

}  // namespace

bool is_chat_template(const std::string& name) {
  return name == "chatml" || name == "llama3" || name == "llama2" || name == "mistral" || name == "custom";
}

std::string resolve_chat_template(const std::string& requested, const Tokenizer& tokenizer, const std::string& where) {
  if (requested != "auto") {
    if (!is_chat_template(requested))
      throw Error(where + ": template '" + requested + "' is not a chat template (known: auto, " + kChatTemplates + ")");
    return requested;
  }
  const auto& jinja = tokenizer.chat_template();
  if (!jinja) {
    throw Error(where + ": template 'auto': the tokenizer has no chat template; name one of: " + kChatTemplates);
  }
  const TemplateDetection detected = detect_chat_template(*jinja);
  if (!detected.name) {
    throw Error(where + ": template 'auto': the tokenizer's chat template is " + detected.found +
                ", which no built-in template renders; name one of: " + kChatTemplates);
  }
  return *detected.name;
}

std::string resolve_template(const DatasetOptions& options, const Tokenizer& tokenizer) {
  const std::string where = options.path.string() + ": template '" + options.template_name + "'";
  const std::string& name = options.template_name;
  if (name == "auto") {
    if (options.format == RecordFormat::kText) return "none";
    if (options.format == RecordFormat::kAlpaca) return "alpaca";
    return resolve_chat_template(name, tokenizer, options.path.string());
  }
  if (!is_known(name)) throw Error(where + " is unknown (known: auto, " + kTemplateNames + ")");
  const bool fits = (is_chat_template(name) && options.format != RecordFormat::kText) ||
                    (name == "alpaca" && options.format == RecordFormat::kAlpaca) ||
                    (name == "none" && options.format == RecordFormat::kText);
  if (!fits) throw Error(where + " cannot render " + format_name(options.format) + " records");
  return name;
}

TemplateRenderer make_renderer(const std::string& name, const DatasetOptions& options, const Tokenizer& tokenizer) {
  return make_renderer(name, options.custom_template, tokenizer, options.path.string());
}

TemplateRenderer make_renderer(const std::string& name, const std::optional<CustomTemplate>& custom,
                               const Tokenizer& tokenizer, const std::string& where) {
  TemplateRenderer renderer;
  renderer.name = name;
  renderer.add_bos = tokenizer.add_bos();
  const std::string missing = where + ": template " + name + ": the tokenizer has no ";
  auto require_token = [&](const char* token) {
    if (!tokenizer.token_to_id(token)) throw Error(missing + token + " token");
  };
  const auto& jinja = tokenizer.chat_template();
  if (name == "chatml") {
    for (const char* token : {"<|im_start|>", "<|im_end|>"}) require_token(token);
    if (jinja) renderer.default_system = chatml_default_system(*jinja);
    renderer.add_bos = false;  // apply_chat_template tokenizes without special tokens
    return renderer;
  }
  renderer.add_bos = false;
  if (name == "llama3" || name == "llama2" || name == "mistral") {
    if (!tokenizer.bos_id()) throw Error(missing + "BOS token, which the template writes");
    if (!tokenizer.eos_id()) throw Error(missing + "EOS token to end turns with");
    renderer.bos_text = token_text(tokenizer, tokenizer.bos_id());
    renderer.eos_text = token_text(tokenizer, tokenizer.eos_id());
    if (name == "llama3") {
      for (const char* token : {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}) require_token(token);
      // Follow the model's own template when it is Llama 3.0's, which has no knowledge-date header.
      if (jinja && detect_chat_template(*jinja).name == std::optional<std::string>("llama3"))
        renderer.llama3_knowledge_header = llama3_has_knowledge_header(*jinja);
    }
    return renderer;
  }
  if (name == "custom") {
    if (!custom) throw Error(where + ": template custom needs its formats (data.custom_template)");
    validate_custom_template(*custom, where, "custom_template");
    if (custom->bos && !tokenizer.bos_id()) throw Error(missing + "BOS token although custom_template.bos is true");
    renderer.custom = custom;
    return renderer;
  }
  // alpaca, none: BOS as the tokenizer adds it, EOS after the supervised text.
  renderer.add_bos = tokenizer.add_bos();
  if (!tokenizer.eos_id()) throw Error(missing + "EOS token to end examples with");
  if (renderer.add_bos && !tokenizer.bos_id()) throw Error(missing + "BOS token although it adds one");
  return renderer;
}

RenderedExample TemplateRenderer::render_messages(const std::vector<ChatMessage>& messages,
                                                  bool add_generation_prompt) const {
  if (name == "chatml") return render_chatml(messages, default_system, add_generation_prompt);
  if (name == "llama3") {
    Llama3Options options;
    options.bos_text = bos_text;
    options.knowledge_header = llama3_knowledge_header;
    options.add_generation_prompt = add_generation_prompt;
    return render_llama3(messages, options);
  }
  // Llama 2 and Mistral have no generation prompt: a conversation ending with [/INST] is one.
  if (name == "llama2") return render_llama2(messages, bos_text, eos_text);
  if (name == "mistral") return render_mistral(messages, bos_text, eos_text);
  if (name == "custom" && custom) return render_custom(messages, *custom, add_generation_prompt);
  throw Error("template " + name + " does not render conversations");
}

RenderedExample TemplateRenderer::render(const DatasetRecord& record, RecordFormat format, const std::string& where) const {
  if (name == "alpaca") return render_alpaca(record.instruction, record.input, record.output, add_bos);
  if (name == "none") return render_plain(record.text, add_bos);
  try {
    if (format == RecordFormat::kAlpaca) {
      return render_messages({{"user", alpaca_as_user_turn(record.instruction, record.input)},
                              {"assistant", record.output}},
                             false);
    }
    return render_messages(record.messages, false);
  } catch (const Error& e) {
    if (where.empty()) throw;
    throw Error(where + ": " + e.what());
  }
}

std::vector<int32_t> TemplateRenderer::end_of_turn_ids(const Tokenizer& tokenizer) const {
  std::vector<int32_t> ids;
  auto add = [&](std::optional<int32_t> id) {
    if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  };
  if (name == "chatml") add(tokenizer.token_to_id("<|im_end|>"));
  if (name == "llama3") add(tokenizer.token_to_id("<|eot_id|>"));
  if (name == "custom" && custom) {
    // The control tokens the assistant format writes after {content}: its end-of-turn marker.
    const std::string after = custom->assistant.substr(custom->assistant.find("{content}") + 9);
    for (int32_t id : tokenizer.encode(after, /*add_special=*/false, /*parse_special=*/true))
      if (tokenizer.token_kind(id) == TokenKind::Control) add(id);
  }
  add(tokenizer.eos_id());
  return ids;
}

}  // namespace llmft::data
