#include "data/template_renderer.h"

#include "io/error.h"

namespace llmft::data {

std::string resolve_template(const DatasetOptions& options, const Tokenizer& tokenizer) {
  const std::string where = options.path.string() + ": template '" + options.template_name + "'";
  std::string name = options.template_name;
  if (name == "auto") {
    if (options.format == RecordFormat::kText) return "none";
    if (options.format == RecordFormat::kAlpaca) return "alpaca";
    const auto& jinja = tokenizer.chat_template();
    if (!jinja || jinja->find("<|im_start|>") == std::string::npos) {
      throw Error(where + ": the tokenizer has " + (jinja ? "a chat template llmft does not know" : "no chat template") +
                  "; name one with template=chatml");
    }
    return "chatml";
  }
  if (name != "chatml" && name != "alpaca" && name != "none") {
    throw Error(where + " is unknown (known: auto, " + kTemplateNames + ")");
  }
  const bool fits = (name == "chatml" && options.format != RecordFormat::kText) ||
                    (name == "alpaca" && options.format == RecordFormat::kAlpaca) ||
                    (name == "none" && options.format == RecordFormat::kText);
  if (!fits) throw Error(where + " cannot render " + format_name(options.format) + " records");
  return name;
}

TemplateRenderer make_renderer(const std::string& name, const DatasetOptions& options, const Tokenizer& tokenizer) {
  TemplateRenderer renderer{name, std::nullopt, tokenizer.add_bos()};
  const std::string where = options.path.string() + ": template " + name + ": the tokenizer has no ";
  if (name == "chatml") {
    for (const char* token : {"<|im_start|>", "<|im_end|>"})
      if (!tokenizer.token_to_id(token)) throw Error(where + token + " token");
    if (tokenizer.chat_template()) renderer.default_system = chatml_default_system(*tokenizer.chat_template());
    renderer.add_bos = false;  // apply_chat_template tokenizes without special tokens
  } else {
    if (!tokenizer.eos_id()) throw Error(where + "EOS token to end examples with");
    if (renderer.add_bos && !tokenizer.bos_id()) throw Error(where + "BOS token although it adds one");
  }
  return renderer;
}

RenderedExample TemplateRenderer::render(const DatasetRecord& record, RecordFormat format) const {
  if (name == "chatml") {
    if (format == RecordFormat::kAlpaca) {
      return render_chatml({{"user", alpaca_as_user_turn(record.instruction, record.input)},
                            {"assistant", record.output}},
                           default_system);
    }
    return render_chatml(record.messages, default_system);
  }
  if (name == "alpaca") return render_alpaca(record.instruction, record.input, record.output, add_bos);
  return render_plain(record.text, add_bos);
}

}  // namespace llmft::data
