#pragma once
// Output projection and next-token cross entropy in one pass that never holds the whole
// [tokens x vocab] logits: rows are taken a chunk at a time, their fp32 logits formed, the loss and
// the gradients with respect to the hidden states (and the weight, when it is trained) computed at
// once, and the logits dropped. Rows whose target is ignored are skipped entirely (their loss and
// gradient are zero), so prompt tokens cost no output projection at all.
//
// Numerics follow transformers' ForCausalLMLoss: logits are computed in the weight's dtype, upcast
// to fp32, log-softmax in fp32; the logits' gradient (softmax - one_hot) is cast back to the weight's
// dtype for the matmuls, as autograd does for an upcast.
#include <torch/torch.h>

namespace llmft::model {

// hidden [N, C] (the final norm's output), weight [V, C], targets [N] int64 with `ignore_index`
// for rows without a target. -> fp32 scalar: the SUM of the rows' cross entropy. Differentiable in
// hidden and weight (each only when it requires grad). `chunk_bytes` bounds one chunk's fp32 logits.
at::Tensor linear_cross_entropy_sum(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                    int64_t ignore_index, int64_t chunk_bytes);

// Default chunk budget for a device: small on the CPU (stays in cache-friendly sizes, keeps RSS
// flat), larger on a GPU (fewer, bigger matmuls).
int64_t default_cross_entropy_chunk_bytes(const c10::Device& device);

}  // namespace llmft::model
