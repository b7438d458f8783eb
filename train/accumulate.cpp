#include "train/accumulate.h"

#include "io/error.h"
#include "model/linear_cross_entropy.h"

namespace llmft::train {
namespace {

constexpr int64_t kIgnore = data::kIgnoreIndex;

// Next-token targets as transformers' ForCausalLMLoss builds them: labels shifted left by one, the
// last position padded with -100. labels [B, T] -> [B*T].
at::Tensor shifted_targets(const at::Tensor& labels) {
  return at::constant_pad_nd(labels, {0, 1}, kIgnore).slice(-1, 1).reshape({-1});
}

// Targets the loss counts in `batch`: labels[:, 1:] != -100. Counted from the tensor rather than
// trusted from Batch::supervised_tokens, so hand-built batches cannot disagree with it.
int64_t count_supervised(const data::Batch& batch) {
  return (batch.labels.slice(1, 1) != kIgnore).sum().item<int64_t>();
}

void check_batch(const data::Batch& b, size_t index) {
  if (!b.input_ids.defined() || !b.labels.defined() || b.input_ids.dim() != 2 ||
      b.labels.sizes() != b.input_ids.sizes() ||
      (b.attention_mask.defined() && b.attention_mask.sizes() != b.input_ids.sizes()))
    throw Error("micro-batch " + std::to_string(index) + ": input_ids, labels and attention_mask must be [B, T] alike");
}

model::ForwardArgs forward_args(const data::Batch& b, c10::Device device) {
  model::ForwardArgs args{b.input_ids.to(device)};
  if (b.position_ids.defined()) {
    // Packed rows: the model derives the block-diagonal causal mask from the position restarts
    // (given without attention_mask, as transformers reads packed rows).
    args.position_ids = b.position_ids.to(device);
    return args;
  }
  if (b.attention_mask.defined()) args.attention_mask = b.attention_mask.to(device);
  return args;  // position_ids default to arange(T): right padding leaves real tokens at 0..n-1
}

int64_t real_tokens(const data::Batch& b) {
  return b.attention_mask.defined() ? b.attention_mask.sum().item<int64_t>() : b.input_ids.numel();
}

// One micro-batch's forward and backward; returns its summed token CE.
double backward_micro_batch(model::LlamaForCausalLMImpl& model, const data::Batch& batch, c10::Device device,
                            int64_t window_supervised_tokens) {
  const at::Tensor targets = shifted_targets(batch.labels.to(device, at::kLong));  // [B*T]
  // Sum of token CE in fp32, divided by the whole window's count (HF's num_items_in_batch), so
  // each micro-batch's gradient is already its share of the window mean.
  at::Tensor sum;  // [] fp32
  if (model.output_head_is_plain()) {
    // Fused projection + loss: no [B*T, V] logits, and no projection for unsupervised tokens.
    const at::Tensor hidden = model.hidden_states(forward_args(batch, device));  // [B, T, C]
    sum = model::linear_cross_entropy_sum(hidden.reshape({-1, hidden.size(-1)}), model.output_weight(), targets,
                                          kIgnore, model::default_cross_entropy_chunk_bytes(device));
  } else {  // an adapter on lm_head: its forward owns the projection
    const at::Tensor logits = model.forward(forward_args(batch, device)).logits;  // [B, T, V]
    sum = at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, logits.size(-1)}), targets, {},
                                 at::Reduction::Sum, kIgnore);
  }
  (sum / window_supervised_tokens).backward();
  return sum.item<double>();
}

}  // namespace

WindowResult forward_backward(model::LlamaForCausalLMImpl& model, const std::vector<data::Batch>& window,
                              c10::Device device, const DataParallelHooks& dp) {
  WindowResult result;
  for (size_t i = 0; i < window.size(); ++i) {
    check_batch(window[i], i);
    result.supervised_tokens += count_supervised(window[i]);
    result.tokens += real_tokens(window[i]);
  }
  if (dp.window_total) result.supervised_tokens = dp.window_total(result.supervised_tokens);
  if (result.supervised_tokens == 0) return result;

  model.train();
  double loss_sum = 0;
  for (size_t i = 0; i < window.size(); ++i) {
    const data::Batch& batch = window[i];
    const bool last = i + 1 == window.size();
    if (dp.before_backward) dp.before_backward(last);
    // No target: its gradient is exactly zero (nothing to run; the hooks still see the micro-batch).
    if (count_supervised(batch) != 0) loss_sum += backward_micro_batch(model, batch, device, result.supervised_tokens);
    if (dp.after_backward) dp.after_backward(last);
  }
  result.loss = loss_sum / static_cast<double>(result.supervised_tokens);
  return result;
}

EvalResult evaluate(model::LlamaForCausalLMImpl& model, const std::vector<data::Batch>& batches, c10::Device device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  EvalResult result;
  double loss_sum = 0;
  try {
    for (size_t i = 0; i < batches.size(); ++i) {
      const auto& batch = batches[i];
      check_batch(batch, i);
      const at::Tensor logits = model.forward(forward_args(batch, device)).logits;  // [B, T, V]
      const int64_t V = logits.size(-1);
      const at::Tensor targets = shifted_targets(batch.labels.to(device, at::kLong));  // [B*T]
      const at::Tensor flat = logits.to(at::kFloat).reshape({-1, V});                  // [B*T, V]
      loss_sum += at::cross_entropy_loss(flat, targets, {}, at::Reduction::Sum, kIgnore).item<double>();
      const at::Tensor supervised = targets != kIgnore;
      result.supervised_tokens += supervised.sum().item<int64_t>();
      result.correct += ((flat.argmax(-1) == targets) & supervised).sum().item<int64_t>();
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  if (result.supervised_tokens > 0) result.loss = loss_sum / static_cast<double>(result.supervised_tokens);
  return result;
}

}  // namespace llmft::train
