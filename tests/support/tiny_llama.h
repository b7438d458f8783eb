#pragma once
// Tiny Llama-family models with seeded random weights, for tests that need a real forward.
#include <cstdint>

#include "model/config.h"
#include "model/llama.h"

namespace llmft::testing {

// vocab 64, hidden 32, 2 layers, 4 heads of 8, 2 kv heads, intermediate 48, fp32 checkpoint.
model::LlamaConfig tiny_config(model::Architecture arch = model::Architecture::Llama);

// Fills every parameter from a seeded normal (norm weights around 1), so logits are O(1) and
// differ between positions. Deterministic for a given seed.
void randomize(model::LlamaForCausalLMImpl& model, uint64_t seed);

}  // namespace llmft::testing
