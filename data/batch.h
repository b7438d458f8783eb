#pragma once
// What the training loop consumes: tokenized examples and padded micro-batches of them.
// Shapes: B sequences per micro-batch, T = the longest example in the batch (dynamic padding).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace llmft::data {

// Label value the loss ignores, as in PyTorch's cross_entropy and HF.
inline constexpr int32_t kIgnoreIndex = -100;

// One example after templating, tokenization and truncation. labels[i] is the target for position
// i before the causal shift (HF convention: labels == input_ids where supervised, -100 elsewhere).
struct TokenizedSample {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> labels;  // same length as input_ids
  // Empty: positions 0..n-1. Packed rows (data/packing.h): restarting at 0 for each example.
  std::vector<int32_t> position_ids = {};
  int64_t supervised_tokens() const;  // labels != -100 after the shift (positions 1..n-1)
};

struct Batch {
  at::Tensor input_ids;       // [B, T] int64, right-padded with the pad id
  at::Tensor labels;          // [B, T] int64, -100 on padding and masked prompt tokens
  at::Tensor attention_mask;  // [B, T] int64, 1 = token, 0 = padding
  // [B, T] int64, only when a row is packed: positions restart per example (padding continues as
  // one more "example" 0, 1, ...). The model then builds its mask from position_ids alone, as
  // transformers does for packed rows; attention_mask still counts real tokens.
  at::Tensor position_ids;
  int64_t supervised_tokens = 0;  // targets the loss counts: labels[:, 1:] != -100
  int64_t tokens = 0;             // real (non-padding) tokens
};

// How wide a padded batch is: its longest example rounded up to a multiple of `multiple` (HF's
// pad_to_multiple_of), but never past `limit` (max_seq_len; 0 = none) unless the longest example is
// itself longer. Fewer distinct widths mean fewer distinct tensor shapes for the kernels and the
// allocators (docs/reliability.md, "Memory over a long run").
struct PadWidth {
  int64_t multiple = 1;
  int64_t limit = 0;
  int64_t of(int64_t longest) const;
};

// Right-pads `samples` to width.of(longest sample). Any sample with position_ids makes a packed batch. pad_id fills input_ids (its value never matters: the
// attention mask hides it and its label is -100).
Batch collate(const std::vector<const TokenizedSample*>& samples, int32_t pad_id, PadWidth width = {});

}  // namespace llmft::data
