#include "model/kv_cache.h"

#include <ATen/ATen.h>

#include "io/error.h"

namespace llmft::model {

KVCache::KVCache(const LlamaConfig& config, int64_t batch, int64_t max_len, const at::TensorOptions& options)
    : batch_(batch), capacity_(max_len) {
  if (batch <= 0 || max_len <= 0) throw Error("KV cache: batch and length must be positive");
  keys_.reserve(config.num_hidden_layers);
  values_.reserve(config.num_hidden_layers);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    keys_.push_back(at::empty({batch, config.num_key_value_heads, max_len, config.head_dim}, options));
    values_.push_back(at::empty({batch, config.num_key_value_heads, max_len, config.head_dim}, options));
  }
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  const int64_t t = k.size(2);
  if (length_ + t > capacity_)
    throw Error("KV cache: " + std::to_string(length_ + t) + " tokens exceed its capacity of " +
                std::to_string(capacity_));
  at::Tensor& keys = keys_.at(static_cast<std::size_t>(layer));
  at::Tensor& values = values_.at(static_cast<std::size_t>(layer));
  keys.slice(2, length_, length_ + t).copy_(k);
  values.slice(2, length_, length_ + t).copy_(v);
  return {keys.slice(2, 0, length_ + t), values.slice(2, 0, length_ + t)};
}

void KVCache::advance(int64_t tokens) { length_ += tokens; }

at::Tensor cached_attention_mask(int64_t past, int64_t new_tokens, std::optional<int64_t> sliding_window,
                                 c10::Device device) {
  const int64_t total = past + new_tokens;
  // Same rule as build_attention_mask, so a prefill computes exactly what the uncached forward does.
  const bool window_matters = sliding_window && total >= *sliding_window;
  // One new token after the cache attends to every key: no mask, like transformers' decode step.
  if (!window_matters && (past == 0 || new_tokens == 1)) return {};
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor q = at::arange(past, total, long_options).view({new_tokens, 1});  // [T, 1] positions
  at::Tensor k = at::arange(total, long_options).view({1, total});             // [1, past + T]
  at::Tensor allowed = k <= q;
  if (sliding_window) allowed = allowed & (k > q - *sliding_window);
  return allowed.view({1, 1, new_tokens, total});
}

}  // namespace llmft::model
