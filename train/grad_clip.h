#pragma once
// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_(params, max_norm) (norm type 2,
// foreach=False): total = ||(||g_i||)_i||, every grad multiplied by min(1, max_norm / (total + 1e-6)).
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace llmft::train {

// Returns the total norm before clipping (a double; non-finite when a grad is). max_norm <= 0 only
// measures. Parameters without a grad are skipped.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

// The same with the gradients spread over processes (ZeRO stage 2): `owned[i]` says this process
// holds params[i]'s gradient; every parameter has a gradient on exactly one process. Each process
// fills its own per-gradient norms into a vector (zeros elsewhere), `sum_across` adds the vectors of
// all processes (x + 0 is exact), and the total is reduced from the same values in the same order
// as clip_grad_norm over all gradients, so both give the same bits. Owned gradients are clipped.
using SumAcross = std::function<void(at::Tensor& fp32_vector)>;
double clip_sharded_grad_norm(const std::vector<at::Tensor>& params, const std::vector<bool>& owned,
                              const SumAcross& sum_across, double max_norm);

}  // namespace llmft::train
