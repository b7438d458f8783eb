#pragma once
// Autoregressive decoding with a KV cache: the prompt is run once (prefill), then one token per
// step, each step feeding only the newest token at the next position.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "eval/sampling.h"
#include "model/llama.h"

namespace llmft::eval {

enum class StopReason { kStopToken, kMaxTokens, kCallback };
const char* stop_reason_name(StopReason reason);  // "stop_token", "max_tokens", "stop_string"

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  std::vector<int32_t> stop_ids;  // EOS and end-of-turn ids: generation ends after emitting one
};

struct GenerateResult {
  std::vector<int32_t> ids;  // the generated ids, the stop token included when one ended generation
  StopReason reason = StopReason::kMaxTokens;
};

// Called with each generated id as it is chosen (the stop token included); returning false ends
// generation there (a stop string was seen).
using TokenCallback = std::function<bool(int32_t)>;

// prompt: at least one id. The model is run without grad in whatever mode it is in (eval mode for
// dropout-free results); batch 1.
GenerateResult generate(model::LlamaForCausalLMImpl& model, std::span<const int32_t> prompt,
                        const GenerateOptions& options, Sampler& sampler, const TokenCallback& on_token = {});

}  // namespace llmft::eval
