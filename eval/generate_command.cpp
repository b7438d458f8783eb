#include "eval/generate_command.h"

#include <istream>
#include <ostream>

#include <nlohmann/json.hpp>

#include "data/tokenizer_loader.h"
#include "eval/generate_loop.h"
#include "eval/generate_prompts.h"
#include "eval/generate_stream.h"
#include "io/error.h"
#include "io/model_locator.h"
#include "lora/adapted_model.h"

namespace llmft::eval {
namespace {

struct Session {
  lora::AdaptedModel model;
  std::unique_ptr<data::Tokenizer> tokenizer;
  PromptFormat format;
  GenerateOptions options;
  Sampler sampler;
};

struct Reply {
  std::string text;  // without the stop token or stop string
  GenerateResult result;
};

// Generates a reply to `messages`, writing its text to `out` as it arrives when `stream`.
Reply respond(Session& s, const std::vector<data::ChatMessage>& messages, const std::vector<std::string>& stops,
              std::ostream* stream) {
  const std::vector<int32_t> prompt = encode_conversation(s.format, messages, *s.tokenizer);
  TextStream text(stops);
  auto on_token = [&](int32_t id) {
    const bool is_stop_id = std::find(s.options.stop_ids.begin(), s.options.stop_ids.end(), id) != s.options.stop_ids.end();
    // Control tokens (EOS, <|im_end|>, ...) are never printed.
    if (is_stop_id || s.tokenizer->token_kind(id) == data::TokenKind::Control) return true;
    const std::string piece = text.push(s.tokenizer->token_bytes(id));
    if (stream && !piece.empty()) *stream << piece << std::flush;
    return !text.stopped();
  };
  Reply reply;
  reply.result = generate(*s.model.model, prompt, s.options, s.sampler, on_token);
  const std::string rest = text.finish();
  if (stream && !rest.empty()) *stream << rest << std::flush;
  reply.text = text.text();
  return reply;
}

void write_json(std::ostream& out, const std::string& prompt, const Reply& reply) {
  nlohmann::json record = {{"prompt", prompt},
                           {"text", reply.text},
                           {"ids", reply.result.ids},
                           {"stop_reason", stop_reason_name(reply.result.reason)}};
  out << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n" << std::flush;
}

void run_chat(Session& s, const GenerateCommand& c, std::istream& in, std::ostream& out, std::ostream& log,
              bool interactive) {
  std::vector<data::ChatMessage> history;
  for (;;) {
    if (interactive) log << "> " << std::flush;
    std::string line;
    if (!std::getline(in, line)) break;
    if (line.empty()) continue;
    history.push_back({"user", line});
    const Reply reply = respond(s, history, c.stop_strings, c.json ? nullptr : &out);
    if (c.json) {
      write_json(out, line, reply);
    } else {
      out << "\n" << std::flush;
    }
    history.push_back({"assistant", reply.text});
  }
  if (interactive) log << "\n";
}

}  // namespace

int run_generate_command(const GenerateCommand& c, std::istream& in, std::ostream& out, std::ostream& log,
                         bool interactive) {
  const int sources = int(c.prompt.has_value()) + int(c.prompts_file.has_value()) + int(c.chat);
  if (sources != 1) throw Error("generate: give exactly one of --prompt, --prompts FILE or --chat");
  if (c.max_new_tokens < 0) throw Error("--max-new-tokens must be >= 0");
  validate(c.sampling);
  std::vector<std::string> prompts;
  if (c.prompt) prompts.push_back(*c.prompt);
  if (c.prompts_file) prompts = read_prompts(*c.prompts_file);  // read before the (slow) model load

  const std::filesystem::path model_path = io::resolve_model_path(c.model);
  auto tokenizer = data::load_tokenizer(model_path);
  if (interactive) log << "loading " << model_path.string() << " ..." << std::endl;
  lora::AdaptedModel model = lora::load_adapted_model(model_path.string(), c.adapter, c.dtype, c.device);
  PromptFormat format = resolve_prompt_format(c.template_name, c.system, *tokenizer, model.config.eos_token_ids);
  GenerateOptions options{c.max_new_tokens, format.stop_ids};
  Session session{std::move(model), std::move(tokenizer), std::move(format), std::move(options), Sampler(c.sampling)};

  if (c.chat) {
    if (!session.format.renderer) {
      throw Error("--chat needs a chat template (--template chatml, llama3, llama2, mistral or custom)");
    }
    run_chat(session, c, in, out, log, interactive);
    return 0;
  }
  for (const std::string& prompt : prompts) {
    const Reply reply = respond(session, {{"user", prompt}}, c.stop_strings, c.json ? nullptr : &out);
    if (c.json) {
      write_json(out, prompt, reply);
    } else {
      out << "\n" << std::flush;
    }
  }
  return 0;
}

}  // namespace llmft::eval
