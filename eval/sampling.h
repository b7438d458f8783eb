#pragma once
// Choosing the next token from a step's logits, with the semantics of transformers' logits
// processors applied in its order: repetition penalty, then (sampling only) temperature, top-k and
// top-p, then a multinomial draw; greedy decoding takes the argmax after the repetition penalty.
// All processing happens in fp32 on the CPU, so a seed gives the same tokens on any device.
// Shapes: V vocab.
#include <cstdint>
#include <span>

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>

namespace llmft::eval {

struct SamplingOptions {
  double temperature = 1.0;        // 0 = greedy
  int64_t top_k = 50;              // 0 = off
  double top_p = 1.0;              // 1 = off
  double repetition_penalty = 1.0;  // 1 = off
  bool greedy = false;
  uint64_t seed = 0;
  bool is_greedy() const { return greedy || temperature == 0.0; }
};

// Throws llmft::Error naming the option that is out of range.
void validate(const SamplingOptions& options);

// HF's RepetitionPenaltyLogitsProcessor: each token in `history` (prompt and generated ids) has its
// logit divided by `penalty` when positive, multiplied when negative. logits [V] fp32 -> [V].
at::Tensor apply_repetition_penalty(const at::Tensor& logits, std::span<const int32_t> history, double penalty);
// TemperatureLogitsWarper: logits / temperature.
at::Tensor apply_temperature(const at::Tensor& logits, double temperature);
// TopKLogitsWarper: logits below the k-th largest become -inf (ties with it are kept).
at::Tensor apply_top_k(const at::Tensor& logits, int64_t top_k);
// TopPLogitsWarper: sorted ascending, tokens whose cumulative probability is <= 1 - top_p become
// -inf; the most likely token always stays.
at::Tensor apply_top_p(const at::Tensor& logits, double top_p);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);  // validates; seeds its own generator
  // logits [V] (any dtype, any device); history: the ids so far (prompt and generated).
  int32_t next(const at::Tensor& logits, std::span<const int32_t> history);
  // The processed fp32 logits [V] the draw uses (for tests): every processor the options enable.
  at::Tensor process(const at::Tensor& logits, std::span<const int32_t> history) const;

 private:
  SamplingOptions options_;
  at::Generator generator_;
};

}  // namespace llmft::eval
