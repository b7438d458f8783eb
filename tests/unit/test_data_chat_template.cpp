// Template rendering: ChatML's default system prompt as found in real templates, and the
// supervised byte ranges of each renderer.
#include <string>

#include "data/chat_template.h"
#include "tests/support/catch.h"

using namespace llmft::data;

namespace {

// SmolLM2-135M-Instruct's template (tokenizer.chat_template of its GGUF); its string literals hold
// real newlines.
const std::string kSmolLm2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

// The shape of Qwen2.5's template: Jinja "\n" escapes, a tools branch whose system literal ends in a
// variable, then the default prompt.
const std::string kQwen25 =
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}"
    "{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}{%- endif %}"
    "{{- '<|im_end|>\\n' }}{%- else %}{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}{%- endif %}";

const std::string kPlainChatml =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}";

std::string supervised_text(const RenderedExample& example) {
  std::string out;
  for (const auto& [begin, end] : example.supervised) out += example.text.substr(begin, end - begin) + "|";
  return out;
}

}  // namespace

TEST_CASE("chatml_default_system reads the prompt a template inserts", "[data]") {
  CHECK(chatml_default_system(kSmolLm2) ==
        std::optional<std::string>("You are a helpful AI assistant named SmolLM, trained by Hugging Face"));
  CHECK(chatml_default_system(kQwen25) ==
        std::optional<std::string>("You are Qwen, created by Alibaba Cloud. You are a helpful assistant."));
  CHECK(!chatml_default_system(kPlainChatml));
  CHECK(!chatml_default_system(""));
}

TEST_CASE("render_chatml marks assistant contents with their <|im_end|>", "[data]") {
  const RenderedExample example = render_chatml(
      {{"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}, {"assistant", "A2"}}, std::string("Sys"));
  CHECK(example.text ==
        "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
        "<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\nA2<|im_end|>\n");
  CHECK(supervised_text(example) == "A1<|im_end|>|A2<|im_end|>|");
  CHECK(!example.prepend_bos);
  CHECK(!example.append_eos);
  // An explicit system message replaces the default.
  CHECK(render_chatml({{"system", "Mine"}, {"user", "Q"}}, std::string("Sys")).text ==
        "<|im_start|>system\nMine<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n");
}

TEST_CASE("render_alpaca and render_plain", "[data]") {
  const RenderedExample alpaca = render_alpaca("Do it.", "", "Done.", true);
  CHECK(alpaca.prepend_bos);
  CHECK(alpaca.append_eos);
  CHECK(supervised_text(alpaca) == "Done.|");
  CHECK(alpaca.text.ends_with("### Instruction:\nDo it.\n\n### Response:\nDone."));
  CHECK(render_alpaca("Do it.", "x", "y", false).text.find("### Input:\nx\n\n### Response:\ny") != std::string::npos);
  CHECK(alpaca_as_user_turn("Do it.", "") == "Do it.");
  CHECK(alpaca_as_user_turn("Do it.", "x") == "Do it.\n\nx");
  const RenderedExample plain = render_plain("text", false);
  CHECK(supervised_text(plain) == "text|");
  CHECK(plain.append_eos);
}
