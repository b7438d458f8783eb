#pragma once
// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_(params, max_norm) (norm type 2,
// foreach=False): total = ||(||g_i||)_i||, every grad multiplied by min(1, max_norm / (total + 1e-6)).
#include <vector>

#include <torch/torch.h>

namespace llmft::train {

// Returns the total norm before clipping (a double; non-finite when a grad is). max_norm <= 0 only
// measures. Parameters without a grad are skipped.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace llmft::train
