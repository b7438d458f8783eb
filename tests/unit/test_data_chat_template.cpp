// Template rendering: ChatML's default system prompt as found in real templates, the supervised
// byte ranges of each renderer, custom templates, and recognising a model's own template.
#include <string>

#include "data/chat_template.h"
#include "data/chat_template_llama.h"
#include "data/chat_template_mistral.h"
#include "data/custom_template.h"
#include "data/template_detect.h"
#include "data/template_text.h"
#include "tests/support/catch.h"

using namespace llmft::data;
using llmft::test::Contains;

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

TEST_CASE("python_strip removes what Python's str.strip() removes", "[data]") {
  CHECK(python_strip("  a b\t\n") == "a b");
  CHECK(python_strip("\u3000\u00a0x\u2009\u0085") == "x");
  CHECK(python_strip("\x1c\x1fy") == "y");  // str.isspace() accepts the ASCII separators
  CHECK(python_strip("\u200bz") == "\u200bz");  // zero-width space is not whitespace to Python
  CHECK(python_strip(" \xff ") == "\xff");     // invalid UTF-8 is kept
  CHECK(python_strip("   ").empty());
}

TEST_CASE("render_llama3: knowledge-date header, trimmed contents, masks", "[data]") {
  const std::vector<ChatMessage> chat = {{"system", " Sys "}, {"user", "Q"}, {"assistant", "\n A \n"}};
  const RenderedExample example = render_llama3(chat, {});
  CHECK(example.text ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n\nSys<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>");
  CHECK(supervised_text(example) == "A<|eot_id|>|");
  Llama3Options v30;
  v30.knowledge_header = false;
  v30.add_generation_prompt = true;
  CHECK(render_llama3({{"user", "Q"}}, v30).text ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_CASE("render_llama2: BOS per exchange, <<SYS>> in the first turn, space-led answers", "[data]") {
  const RenderedExample example =
      render_llama2({{"system", "S"}, {"user", " U1 "}, {"assistant", " A1 "}, {"user", "U2"}, {"assistant", "A2"}},
                    "<s>", "</s>");
  CHECK(example.text == "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\n U1 [/INST] A1 </s><s>[INST] U2 [/INST] A2 </s>");
  CHECK(supervised_text(example) == " A1 </s>| A2 </s>|");
  CHECK_THROWS_WITH(render_llama2({{"user", "a"}, {"user", "b"}}, "<s>", "</s>"),
                    Contains("template llama2: message 1 is 'user' where 'assistant' was expected"));
}

TEST_CASE("render_mistral: Nemo's spacing, the system message only in a final user turn", "[data]") {
  const std::vector<ChatMessage> chat = {{"system", "S"}, {"user", "U1"}, {"assistant", " A1"}, {"user", "U2"}};
  CHECK(render_mistral(chat, "<s>", "</s>").text == "<s>[INST]U1[/INST] A1</s>[INST]S\n\nU2[/INST]");
  const RenderedExample trained = render_mistral({chat[0], chat[1], chat[2]}, "<s>", "</s>");
  CHECK(trained.text == "<s>[INST]U1[/INST] A1</s>");
  CHECK(supervised_text(trained) == " A1</s>|");
  CHECK_THROWS_WITH(render_mistral({{"assistant", "a"}}, "<s>", "</s>"), Contains("template mistral"));
}

TEST_CASE("render_custom: formats, escapes, masks and errors", "[data]") {
  CustomTemplate custom;
  custom.bos = true;
  custom.system = "<|system|>\n{content}<|end|>\n";
  custom.user = "<|user|>\n{content}<|end|>\n";
  custom.assistant = "<|assistant|> {content}<|end|>\n";
  custom.default_system = "Be {{nice}}.";
  const RenderedExample example = render_custom({{"user", "Q"}, {"assistant", "A"}}, custom);
  CHECK(example.prepend_bos);
  CHECK(example.text == "<|system|>\nBe {{nice}}.<|end|>\n<|user|>\nQ<|end|>\n<|assistant|> A<|end|>\n");
  CHECK(supervised_text(example) == " A<|end|>\n|");  // the space before {content} goes with the answer
  CHECK(render_custom({{"user", "Q"}}, custom, true).text.ends_with("<|end|>\n<|assistant|> "));
  custom.user = "{{literal}} {content}";
  CHECK(render_custom({{"system", "S"}, {"user", "Q"}}, custom).text == "<|system|>\nS<|end|>\n{literal} Q");

  CHECK(custom_format_problem("{content}").empty());
  CHECK_THAT(custom_format_problem("no placeholder"), Contains("has no {content}"));
  CHECK_THAT(custom_format_problem("{content}{content}"), Contains("2 times"));
  CHECK_THAT(custom_format_problem("{role}: {content}"), Contains("unknown placeholder '{role}'"));
  CHECK_THAT(custom_format_problem("{content"), Contains("unclosed"));
  custom.user = "{message}";
  CHECK_THROWS_WITH(validate_custom_template(custom, "r.yaml:3:5", "data.custom_template"),
                    Contains("r.yaml:3:5: data.custom_template.user has an unknown placeholder '{message}'"));
  custom.user = "{content}";
  custom.system.reset();
  CHECK_THROWS_WITH(validate_custom_template(custom, "r.yaml", "data.custom_template"),
                    Contains("default_system needs data.custom_template.system"));
  custom.default_system.reset();
  CHECK_THROWS_WITH(render_custom({{"system", "S"}, {"user", "Q"}}, custom), Contains("no format for system"));
}

TEST_CASE("detect_chat_template recognises the built-ins by their markers", "[data]") {
  CHECK(detect_chat_template(kSmolLm2).name == std::optional<std::string>("chatml"));
  CHECK(detect_chat_template(kQwen25).name == std::optional<std::string>("chatml"));
  CHECK(detect_chat_template("{{ '<|start_header_id|>' }}").name == std::optional<std::string>("llama3"));
  CHECK(detect_chat_template("{{ '[INST] ' + '<<SYS>>\\n' }}").name == std::optional<std::string>("llama2"));
  CHECK(detect_chat_template("{{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}").name ==
        std::optional<std::string>("mistral"));
  const TemplateDetection v01 = detect_chat_template("{{ '[INST] ' + message['content'] + ' [/INST]' }}");
  CHECK(!v01.name);
  CHECK_THAT(v01.found, Contains("Mistral [INST] with spaces"));
  CHECK_THAT(detect_chat_template("{{ '<start_of_turn>' }}").found, Contains("Gemma"));
  CHECK_THAT(detect_chat_template("{{ '<|im_start|>' }}{% if enable_thinking %}<think>{% endif %}").found,
             Contains("SmolLM3"));
  CHECK_THAT(detect_chat_template("{{ messages }}\nhello").found, Contains("unrecognised template '{{ messages }} hello'"));
  CHECK(llama3_has_knowledge_header("{{- \"Cutting Knowledge Date: December 2023\\n\" }}"));
}
