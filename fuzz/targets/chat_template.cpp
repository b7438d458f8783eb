// chat_template: fuzz bytes -> a conversation rendered by data::TemplateRenderer under one of the
// built-in templates (chatml, llama3, llama2, mistral, custom) with the fixture tokenizer, then
// tokenized with loss labels, as training/eval/generate render conversations.
//
// Layout: byte 0 picks the template, byte 1 holds flags, the rest is NUL-separated pieces:
//   piece 0         a tokenizer chat template (Jinja text) for auto-detection / ChatML default system
//   custom only     pieces 1-4: system, user, assistant, default_system formats (data.custom_template)
//   then            one message per piece: first byte picks the role, the rest is the content.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/custom_template.h"
#include "data/template_detect.h"
#include "data/template_renderer.h"
#include "fuzz/targets/common.h"
#include "fuzz/targets/render_check.h"
#include "io/error.h"

namespace llmft::fuzz {

void chat_template(const uint8_t* data, size_t size) {
  if (size < 2) return;
  static const char* const kNames[] = {"chatml", "llama3", "llama2", "mistral", "custom"};
  const std::string name = kNames[data[0] % 5];
  const uint8_t flags = data[1];
  const bool add_generation_prompt = flags & 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto pieces = split(bytes, '\0', 64);

  // The tokenizer's own template, as "auto" and the ChatML default system prompt read it.
  const std::string jinja(pieces[0]);
  const data::TemplateDetection detected = data::detect_chat_template(jinja);
  (void)data::llama3_has_knowledge_header(jinja);
  size_t next = 1;

  std::optional<data::CustomTemplate> custom;
  if (name == "custom") {
    auto piece = [&]() -> std::string { return next < pieces.size() ? std::string(pieces[next++]) : std::string(); };
    data::CustomTemplate formats;
    formats.bos = flags & 2;
    std::string system = piece();
    if (flags & 4) formats.system = system;
    formats.user = piece();
    formats.assistant = piece();
    std::string default_system = piece();
    if (flags & 8) formats.default_system = default_system;
    custom = formats;
  }

  std::vector<data::ChatMessage> messages;
  static const char* const kRoles[] = {"system", "user", "assistant", "user", "assistant", "tool"};
  for (; next < pieces.size(); ++next) {
    std::string_view piece = pieces[next];
    if (piece.empty()) continue;
    const std::string role = kRoles[static_cast<uint8_t>(piece[0]) % 6];
    messages.push_back({role, std::string(piece.substr(1))});
  }

  data::TemplateRenderer renderer;
  try {
    renderer = data::make_renderer(name, custom, fixture_tokenizer(), "recipe.yaml");
  } catch (const Error&) {  // an invalid custom template: the recipe is rejected
    return;
  }
  if (name == "chatml" && (flags & 16)) renderer.default_system = data::chatml_default_system(jinja);
  if (name == "llama3") renderer.llama3_knowledge_header = !(flags & 32);
  (void)detected;

  try {
    const data::RenderedExample example = renderer.render_messages(messages, add_generation_prompt);
    check_rendered(example, fixture_tokenizer(), "conversation (" + name + ")");
    (void)renderer.end_of_turn_ids(fixture_tokenizer());
  } catch (const Error&) {  // roles a template cannot render (llama2/mistral alternation, custom roles)
  }
}

}  // namespace llmft::fuzz
