#include "model/attention_mask.h"

#include <ATen/ATen.h>

namespace llmft::model {
namespace {

// Sequence index per token, counting restarts of position_ids ([[0,1,2,0,1]] -> [[0,0,0,1,1]]), or
// undefined when every row holds one sequence.
at::Tensor packed_sequence_ids(const at::Tensor& positions) {  // [B, T]
  at::Tensor first = positions.slice(1, 0, 1) - 1;              // so the first diff is 1
  at::Tensor diff = at::diff(positions, 1, -1, first);
  at::Tensor ids = (diff != 1).cumsum(-1);  // [B, T]
  if ((ids.select(1, -1) == 0).all().item<bool>()) return {};
  return ids;
}

}  // namespace

at::Tensor build_attention_mask(const std::optional<at::Tensor>& attention_mask,
                                const std::optional<at::Tensor>& position_ids, int64_t batch, int64_t seq_len,
                                std::optional<int64_t> sliding_window, c10::Device device) {
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor key_is_token;  // [B, T] bool
  if (attention_mask) key_is_token = attention_mask->to(device, at::kBool);

  at::Tensor positions, sequence_ids;  // [B, T]
  if (position_ids && !attention_mask) {
    positions = position_ids->to(device, at::kLong).expand({batch, seq_len});
    sequence_ids = packed_sequence_ids(positions);
  }
  const bool window_matters = sliding_window && seq_len >= *sliding_window;
  const bool has_padding = key_is_token.defined() && !key_is_token.all().item<bool>();
  if (!sequence_ids.defined() && !window_matters && !has_padding) return {};

  // Query and key positions: token indices, or the given positions inside packed rows.
  at::Tensor q, k;  // broadcastable to [B, T, T]
  if (sequence_ids.defined()) {
    q = positions.unsqueeze(2);  // [B, T, 1]
    k = positions.unsqueeze(1);  // [B, 1, T]
  } else {
    at::Tensor index = at::arange(seq_len, long_options);
    q = index.view({1, seq_len, 1});
    k = index.view({1, 1, seq_len});
  }
  at::Tensor allowed = k <= q;
  if (sliding_window) allowed = allowed & (k > q - *sliding_window);
  if (key_is_token.defined()) allowed = allowed & key_is_token.unsqueeze(1);  // [B, 1, T]
  if (sequence_ids.defined()) allowed = allowed & (sequence_ids.unsqueeze(2) == sequence_ids.unsqueeze(1));
  allowed = allowed.expand({batch, seq_len, seq_len});

  // A fully masked row would make the softmax 0/0; attending to itself keeps it finite and leaves
  // every row that has something to attend to exactly as transformers computes it.
  at::Tensor empty_row = allowed.any(-1, /*keepdim=*/true).logical_not();  // [B, T, 1]
  at::Tensor diagonal = at::eye(seq_len, at::TensorOptions().dtype(at::kBool).device(device));
  allowed = allowed | (empty_row & diagonal);
  return allowed.unsqueeze(1);  // [B, 1, T, T]
}

}  // namespace llmft::model
