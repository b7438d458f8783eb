#pragma once
// The pieces of data-parallel training that sit around one process's step: every rank starts from
// rank 0's trainable weights, gradients are summed across ranks after backward (each rank already
// divided by the global supervised-token count, see train::forward_backward), and the window's loss
// and token counts are summed for the log. With identical gradients and identical optimizer state,
// every rank's AdamW step keeps the weights identical without further messages.
#include <vector>

#include "dist/communicator.h"
#include "io/safetensors.h"
#include "train/accumulate.h"
#include "train/adamw.h"

namespace llmft::recipes {

// Rank 0's values of every trainable parameter, on every rank (as DDP does at construction).
void broadcast_trainable(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable);

// Sums .grad() of every trainable parameter across ranks, in place. A rank whose share of the window
// had no target has no gradients: zeros take their place, so every rank sends the same tensors.
void all_reduce_gradients(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable);

// This rank's WindowResult -> the whole window's: loss and tokens summed (supervised_tokens is
// already global).
train::WindowResult sum_window(dist::Communicator& comm, const train::WindowResult& local);

// Every rank's generator states (train::capture_rng_state), indexed by rank, on every rank: rank 0
// writes them all into a checkpoint so each rank resumes its own dropout stream.
std::vector<std::vector<io::NamedTensor>> gather_rng_states(dist::Communicator& comm, c10::Device device);

// True on every rank when it is true on any (a stop signal seen by one rank stops all at the same step).
bool any_rank(dist::Communicator& comm, bool flag);

}  // namespace llmft::recipes
