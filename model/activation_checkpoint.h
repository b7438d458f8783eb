#pragma once
// Activation checkpointing for decoder layers (what torch.utils.checkpoint's reentrant variant does,
// which libtorch lacks): the layer runs without recording its graph, only its input is kept, and
// backward recomputes the layer with grad enabled and backpropagates through the recomputation.
// Memory per layer drops from every intermediate activation (attention projections, MLP
// [B, T, intermediate] x3, norms) to the one [B, T, C] input, at the cost of a second forward.
//
// The recomputation replays the random number generators: the CPU default generator's state (and
// the input device's CUDA generator's, for CUDA inputs) is saved before the forward and restored
// around the recomputation, so dropout draws the same masks and gradients equal those without
// checkpointing exactly. The caller's generator state after backward is what it was before.
#include <torch/torch.h>

#include "model/layers.h"

namespace llmft::model {

class DecoderLayerImpl;

// layer.forward(x, rope, mask) with its activations recomputed in backward. x [B, T, C] -> [B, T, C].
// The result takes part in autograd even when x does not require grad (frozen embeddings under
// LoRA), so the layer's own parameters still get gradients. `layer` must outlive the backward pass.
at::Tensor checkpointed_layer_forward(DecoderLayerImpl& layer, const at::Tensor& x, const RotaryTables& rope,
                                      const at::Tensor& mask);

}  // namespace llmft::model
