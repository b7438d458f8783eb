// `llmft generate --model M [--adapter DIR] (--prompt TEXT | --prompts FILE | --chat) [sampling ...]`.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "eval/generate_command.h"
#include "io/dtype.h"
#include "recipes/recipe_config.h"
#include "recipes/train_setup.h"

namespace llmft::cli {

void add_generate_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("generate", "Generate text from a model (KV-cached, streamed)");
  auto c = std::make_shared<eval::GenerateCommand>();
  auto prompt = std::make_shared<std::string>();
  auto prompts = std::make_shared<std::string>();
  auto adapter = std::make_shared<std::string>();
  auto system = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("fp32");
  auto device = std::make_shared<std::string>("auto");
  sub->add_option("--model", c->model, "HF model directory, .gguf file, or smollm2-135m")->required();
  CLI::Option* adapter_opt = sub->add_option("--adapter", *adapter, "PEFT adapter directory applied on top");
  CLI::Option* prompt_opt = sub->add_option("--prompt", *prompt, "The prompt (a user turn under a chat template)");
  CLI::Option* prompts_opt =
      sub->add_option("--prompts", *prompts, "File with one prompt per line, or JSONL {\"prompt\": ...}");
  sub->add_flag("--chat", c->chat, "Interactive chat: read a line, reply, keep the conversation");
  prompt_opt->excludes(prompts_opt);
  sub->add_option("--template", c->template_name, "auto | chatml | llama3 | llama2 | mistral | none (auto: the built-in matching the tokenizer's chat "
                  "template; none: the raw prompt)")
      ->capture_default_str();
  CLI::Option* system_opt = sub->add_option("--system", *system, "System message (chat templates)");
  sub->add_option("--max-new-tokens", c->max_new_tokens, "Most tokens to generate")->capture_default_str();
  sub->add_option("--temperature", c->sampling.temperature, "Softmax temperature; 0 = greedy")->capture_default_str();
  sub->add_option("--top-k", c->sampling.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  sub->add_option("--top-p", c->sampling.top_p, "Nucleus sampling mass; 1 = off")->capture_default_str();
  sub->add_option("--repetition-penalty", c->sampling.repetition_penalty, "HF's repetition penalty; 1 = off")
      ->capture_default_str();
  sub->add_option("--seed", c->sampling.seed, "Sampling seed")->capture_default_str();
  sub->add_flag("--greedy", c->sampling.greedy, "Always take the most likely token");
  sub->add_option("--stop", c->stop_strings, "Stop when this text appears (not printed); repeatable");
  sub->add_flag("--json", c->json, "One JSON object per prompt: prompt, text, ids, stop_reason");
  sub->add_option("--dtype", *dtype, "fp32 | bf16 | fp16")->capture_default_str();
  sub->add_option("--device", *device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  sub->footer(
      "Examples:\n"
      "  llmft generate --model smollm2-135m --prompt \"What is a llama?\"\n"
      "  llmft generate --model smollm2-135m --adapter out/adapter --prompts prompts.txt --json\n"
      "  llmft generate --model smollm2-135m --chat --temperature 0.7 --top-p 0.9");
  set_runner(sub, [=]() {
    if (adapter_opt->count() > 0) c->adapter = *adapter;
    if (prompt_opt->count() > 0) c->prompt = *prompt;
    if (prompts_opt->count() > 0) c->prompts_file = *prompts;
    if (system_opt->count() > 0) c->system = *system;
    c->dtype = io::parse_compute_dtype(*dtype, "--dtype");
    c->device = recipes::resolve_device(recipes::parse_device(*device));
    const bool interactive = c->chat && isatty(STDIN_FILENO) != 0;
    return eval::run_generate_command(*c, std::cin, std::cout, std::cerr, interactive);
  });
}

}  // namespace llmft::cli
