#include "eval/sampling.h"

#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "io/error.h"

namespace llmft::eval {
namespace {
constexpr float kFiltered = -std::numeric_limits<float>::infinity();
}

void validate(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    throw Error("--temperature must be a finite number >= 0, got " + std::to_string(o.temperature));
  if (o.top_k < 0) throw Error("--top-k must be >= 0 (0 = off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) throw Error("--top-p must be in (0, 1], got " + std::to_string(o.top_p));
  if (!(o.repetition_penalty > 0.0) || !std::isfinite(o.repetition_penalty))
    throw Error("--repetition-penalty must be a finite number > 0, got " + std::to_string(o.repetition_penalty));
}

at::Tensor apply_repetition_penalty(const at::Tensor& logits, std::span<const int32_t> history, double penalty) {
  if (penalty == 1.0 || history.empty()) return logits;
  std::vector<int64_t> ids(history.begin(), history.end());
  at::Tensor index = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).to(logits.device());  // [N]
  at::Tensor score = logits.gather(0, index);
  score = at::where(score < 0, score * penalty, score / penalty);
  return logits.scatter(0, index, score);
}

at::Tensor apply_temperature(const at::Tensor& logits, double temperature) { return logits / temperature; }

at::Tensor apply_top_k(const at::Tensor& logits, int64_t top_k) {
  const int64_t k = std::min(top_k, logits.size(-1));
  at::Tensor kth = std::get<0>(at::topk(logits, k)).select(-1, k - 1);  // scalar
  return logits.masked_fill(logits < kth, kFiltered);
}

at::Tensor apply_top_p(const at::Tensor& logits, double top_p) {
  auto [sorted, order] = at::sort(logits, -1, /*descending=*/false);        // [V] ascending
  at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);                     // [V]
  at::Tensor remove_sorted = cumulative <= (1 - top_p);                     // [V] bool
  remove_sorted.select(-1, remove_sorted.size(-1) - 1).fill_(false);         // min_tokens_to_keep = 1
  at::Tensor remove = remove_sorted.scatter(-1, order, remove_sorted);       // back to vocab order
  return logits.masked_fill(remove, kFiltered);
}

Sampler::Sampler(const SamplingOptions& options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {
  validate(options_);
}

at::Tensor Sampler::process(const at::Tensor& logits, std::span<const int32_t> history) const {
  at::Tensor scores = logits.to(at::kCPU, at::kFloat).reshape({-1});  // [V]
  scores = apply_repetition_penalty(scores, history, options_.repetition_penalty);
  if (options_.is_greedy()) return scores;
  if (options_.temperature != 1.0) scores = apply_temperature(scores, options_.temperature);
  if (options_.top_k > 0) scores = apply_top_k(scores, options_.top_k);
  if (options_.top_p < 1.0) scores = apply_top_p(scores, options_.top_p);
  return scores;
}

int32_t Sampler::next(const at::Tensor& logits, std::span<const int32_t> history) {
  const at::Tensor scores = process(logits, history);
  if (options_.is_greedy()) return static_cast<int32_t>(scores.argmax().item<int64_t>());
  const at::Tensor probs = scores.softmax(-1);
  return static_cast<int32_t>(at::multinomial(probs, 1, /*replacement=*/false, generator_).item<int64_t>());
}

}  // namespace llmft::eval
