#pragma once
// Loss, perplexity and token accuracy of a model over a dataset's supervised tokens: the same
// numbers training's held-out eval reports (train::evaluate), over every example once, in order.
#include <cstdint>
#include <functional>

#include "data/dataset.h"
#include "model/llama.h"

namespace llmft::eval {

struct LossMetrics {
  int64_t examples = 0;
  int64_t supervised_tokens = 0;  // next-token targets counted: labels[:, 1:] != -100
  int64_t correct = 0;            // of those, argmax(logits) == target
  double loss = 0;                // mean cross entropy (nats) over supervised tokens
  double perplexity() const;      // exp(loss)
  double token_accuracy() const;  // correct / supervised_tokens
};

// Batches of `batch_size` examples (the last may be smaller), right-padded with pad_id.
// `progress(done, total)` is called after each batch with examples done so far.
LossMetrics evaluate_loss(model::LlamaForCausalLMImpl& model, const data::TokenizedDataset& dataset,
                          int64_t batch_size, int32_t pad_id, c10::Device device,
                          const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace llmft::eval
