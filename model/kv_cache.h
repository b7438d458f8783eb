#pragma once
// Keys and values of the tokens already processed, so generation runs the prompt once (prefill) and
// then one new token per step instead of re-running the whole sequence.
// Preallocated per layer as [B, KV, T_max, D] (KV key/value heads, D head_dim): appending writes
// into the buffers, so a step allocates nothing that grows with the sequence.
// Keys are stored after rotary embedding (at their absolute positions), as transformers does.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include "model/config.h"

namespace llmft::model {

class KVCache {
 public:
  // options: the model's dtype and device. max_len: the most tokens the cache will ever hold.
  KVCache(const LlamaConfig& config, int64_t batch, int64_t max_len, const at::TensorOptions& options);

  int64_t length() const { return length_; }  // tokens stored (the next token's position)
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }

  // Writes `k`, `v` [B, KV, T, D] at positions [length, length + T) of `layer` and returns views of
  // everything stored for it, [B, KV, length + T, D]. length() moves only with advance().
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
  // Called once per forward after every layer appended its T tokens.
  void advance(int64_t tokens);
  // Forgets every token (the buffers are kept).
  void reset() { length_ = 0; }

 private:
  std::vector<at::Tensor> keys_;    // per layer [B, KV, T_max, D]
  std::vector<at::Tensor> values_;  // per layer [B, KV, T_max, D]
  int64_t batch_;
  int64_t capacity_;
  int64_t length_ = 0;
};

// Which cached keys each new query may attend to: queries at positions [past, past + T), keys at
// [0, past + T); causal and, with a window, key > query - window (HF's sliding window).
// Returns [1, 1, T, past + T] bool (true = may attend), or an undefined tensor when no mask is needed:
// a prefill (past == 0) without an effective window takes SDPA's is_causal path like the uncached
// forward, and a single new token without one attends to every cached key.
at::Tensor cached_attention_mask(int64_t past, int64_t new_tokens, std::optional<int64_t> sliding_window,
                                 c10::Device device);

}  // namespace llmft::model
