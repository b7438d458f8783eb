#pragma once
// Which keys each query may attend to, decided once per forward as transformers' masking_utils does
// for its sdpa path: causal, AND key-not-padding, AND within the sliding window, AND (for packed
// rows, recognised from position_ids restarting) within the same sequence.
#include <optional>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

namespace llmft::model {

// attention_mask: [B, T], nonzero = real token, 0 = padding. position_ids: [B or 1, T], only when
// the caller gave them (packing is looked for only when attention_mask is absent, as in HF).
// Returns [B, 1, T, T] bool (true = may attend), or an undefined tensor when plain causal attention
// is exact (no padding, no effective window, no packing), so SDPA can take its is_causal fast path.
// A query row with nothing to attend to (left padding) attends to itself, so it never yields NaN.
at::Tensor build_attention_mask(const std::optional<at::Tensor>& attention_mask,
                                const std::optional<at::Tensor>& position_ids, int64_t batch, int64_t seq_len,
                                std::optional<int64_t> sliding_window, c10::Device device);

}  // namespace llmft::model
