#include "eval/eval_loss.h"

#include <cmath>

#include "data/loader.h"
#include "io/error.h"
#include "train/accumulate.h"

namespace llmft::eval {

double LossMetrics::perplexity() const { return std::exp(loss); }

double LossMetrics::token_accuracy() const {
  return supervised_tokens ? double(correct) / double(supervised_tokens) : 0.0;
}

LossMetrics evaluate_loss(model::LlamaForCausalLMImpl& model, const data::TokenizedDataset& dataset,
                          int64_t batch_size, int32_t pad_id, c10::Device device,
                          const std::function<void(int64_t, int64_t)>& progress) {
  if (batch_size < 1) throw Error("--batch-size must be at least 1");
  const auto batches = data::sequential_batches(dataset.samples, batch_size, pad_id);
  LossMetrics m;
  const int64_t total = int64_t(dataset.samples.size());
  double loss_sum = 0;  // sum of token cross entropies: batches are combined by token count
  for (const auto& batch : batches) {
    // One batch per call so progress can be shown; train::evaluate's sum is exact per batch.
    const train::EvalResult r = train::evaluate(model, {batch}, device);
    loss_sum += r.loss * double(r.supervised_tokens);
    m.supervised_tokens += r.supervised_tokens;
    m.correct += r.correct;
    m.examples += batch.input_ids.size(0);
    if (progress) progress(m.examples, total);
  }
  if (m.supervised_tokens > 0) m.loss = loss_sum / double(m.supervised_tokens);
  return m;
}

}  // namespace llmft::eval
