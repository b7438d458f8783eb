#pragma once
// Forward and backward over one gradient-accumulation window, with the loss normalised by the number
// of supervised tokens in the whole window (not per micro-batch), so the gradient does not depend on
// how the window is split: batch 8 x accum 1 == batch 2 x accum 4.
#include <cstdint>
#include <functional>
#include <vector>

#include "data/batch.h"
#include "model/llama.h"

namespace llmft::train {

struct WindowResult {
  double loss = 0;                // mean cross entropy over the window's supervised tokens
  int64_t supervised_tokens = 0;  // the normaliser
  int64_t tokens = 0;             // real tokens processed (throughput)
};

// Moves each batch to `device`, runs the model in training mode and accumulates into .grad():
// sum_over_tokens(CE) / window_supervised_tokens per micro-batch. A window without supervised tokens
// contributes nothing and returns loss 0.
//
// Data parallelism (`dp`, empty in a single process):
// - window_total maps this process's supervised-token count to the count over every rank's share
//   of the window (an all-reduce), so each rank divides by the global count and the summed gradients
//   equal one process's over the whole window. The result then holds this rank's part: loss
//   (sum / global count) and tokens are summed across ranks by the caller, and supervised_tokens is
//   the global count.
// - before_backward / after_backward bracket every micro-batch's backward, on every rank, also for
//   a micro-batch without targets on this rank (which runs no backward): gradient synchronisation
//   launched from autograd hooks must see the same sequence of micro-batches everywhere. `last` is
//   true for the window's final micro-batch. A window without a supervised token on any rank runs
//   neither.
using WindowTotal = std::function<int64_t(int64_t local_supervised_tokens)>;
struct DataParallelHooks {
  WindowTotal window_total;
  std::function<void(bool last)> before_backward;
  std::function<void(bool last)> after_backward;
};
WindowResult forward_backward(model::LlamaForCausalLMImpl& model, const std::vector<data::Batch>& window,
                              c10::Device device, const DataParallelHooks& dp = {});

struct EvalResult {
  double loss = 0;  // mean CE over supervised tokens
  int64_t supervised_tokens = 0;
  int64_t correct = 0;  // argmax == label, for token accuracy
};
// No grad, eval mode (no dropout); restores the previous training mode.
EvalResult evaluate(model::LlamaForCausalLMImpl& model, const std::vector<data::Batch>& batches, c10::Device device);

}  // namespace llmft::train
