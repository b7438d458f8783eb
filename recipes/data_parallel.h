#pragma once
// The pieces of data-parallel training that sit around one process's step: every rank starts from
// rank 0's trainable weights, gradients are summed across ranks during backward (GradientSync; each
// rank already divided by the global supervised-token count, see train::forward_backward), and the
// window's loss and token counts are summed for the log.
//
// train.zero_stage chooses where the optimizer works:
//   0  every rank keeps the whole AdamW state and takes the same step; the weights stay identical
//      without further messages.
//   1  each rank keeps the AdamW state of the buckets it owns (dist::BucketPlan) and updates only
//      those parameters; the owners then broadcast the updated values (ZeRO stage 1).
//   2  as 1, and each rank also holds only its own buckets' gradients (ZeRO stage 2).
// The update of every parameter is computed from the same numbers in every stage.
#include <vector>

#include "dist/communicator.h"
#include "dist/grad_buckets.h"
#include "io/safetensors.h"
#include "train/accumulate.h"
#include "train/adamw.h"

namespace llmft::recipes {

// Rank 0's values of every trainable parameter, on every rank (as DDP does at construction).
void broadcast_trainable(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable);

// The buckets gradients travel in, and (zero_stage > 0) who owns each: DDP's 25 MiB buckets without
// sharding, smaller ones with it so that every rank owns a fair share (dist::sharding_bucket_bytes).
dist::BucketPlan plan_gradient_buckets(const std::vector<train::OptimizedParam>& trainable, int world_size,
                                       int zero_stage);

// The parameters this rank's optimizer updates: all of them at stage 0, its own buckets' otherwise.
std::vector<train::OptimizedParam> owned_trainable(const std::vector<train::OptimizedParam>& trainable,
                                                   const dist::BucketPlan& plan, int rank, int zero_stage);

// After the owners' optimizer steps (zero_stage > 0): every bucket's updated values go from its owner
// to every other rank, so all ranks hold identical weights again.
void share_updated_params(dist::Communicator& comm, const std::vector<train::OptimizedParam>& trainable,
                          const dist::BucketPlan& plan);

// This rank's WindowResult -> the whole window's: loss and tokens summed (supervised_tokens is
// already global).
train::WindowResult sum_window(dist::Communicator& comm, const train::WindowResult& local);

// Held-out evaluation split across ranks: rank r evaluates batches r, r + N, r + 2N, ... and the
// token-loss sums, supervised-token and correct counts are summed, so every rank gets the result of
// evaluating all batches (up to the order the per-batch sums are added in, in double).
train::EvalResult evaluate_sharded(dist::Communicator& comm, model::LlamaForCausalLMImpl& model,
                                   const std::vector<data::Batch>& batches, c10::Device device);

// Every rank's generator states (train::capture_rng_state), indexed by rank, on every rank: rank 0
// writes them all into a checkpoint so each rank resumes its own dropout stream.
std::vector<std::vector<io::NamedTensor>> gather_rng_states(dist::Communicator& comm, c10::Device device);

// True on every rank when it is true on any (a stop signal seen by one rank stops all at the same step).
bool any_rank(dist::Communicator& comm, bool flag);

}  // namespace llmft::recipes
