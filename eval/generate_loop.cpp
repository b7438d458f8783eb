#include "eval/generate_loop.h"

#include <algorithm>

#include <torch/torch.h>

#include "io/error.h"

namespace llmft::eval {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken: return "stop_token";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kCallback: return "stop_string";
  }
  return "unknown";
}

GenerateResult generate(model::LlamaForCausalLMImpl& model, std::span<const int32_t> prompt,
                        const GenerateOptions& options, Sampler& sampler, const TokenCallback& on_token) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  GenerateResult result;
  if (options.max_new_tokens <= 0) return result;
  torch::NoGradGuard no_grad;

  const auto prompt_len = static_cast<int64_t>(prompt.size());
  model::KVCache cache = model.make_cache(1, prompt_len + options.max_new_tokens);
  std::vector<int32_t> history(prompt.begin(), prompt.end());  // what the repetition penalty sees
  history.reserve(history.size() + static_cast<std::size_t>(options.max_new_tokens));

  std::vector<int64_t> prompt_ids(prompt.begin(), prompt.end());
  at::Tensor input = at::tensor(prompt_ids, at::TensorOptions().dtype(at::kLong)).view({1, prompt_len});  // [1, T]
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    const at::Tensor logits = model.forward_cached(input, cache, /*last_only=*/true);  // [1, 1, V]
    const int32_t next = sampler.next(logits.view({-1}), history);
    history.push_back(next);
    result.ids.push_back(next);
    const bool is_stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end();
    if (on_token && !on_token(next)) {
      result.reason = StopReason::kCallback;
      return result;
    }
    if (is_stop) {
      result.reason = StopReason::kStopToken;
      return result;
    }
    input = at::full({1, 1}, static_cast<int64_t>(next), at::TensorOptions().dtype(at::kLong));  // [1, 1]
  }
  result.reason = StopReason::kMaxTokens;
  return result;
}

}  // namespace llmft::eval
