#pragma once
// The random-number state that training consumes (dropout draws from the default generators), saved
// in checkpoints so a resumed run draws exactly the numbers the straight run would have.
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace llmft::train {

// "rng.cpu" (uint8 state of the default CPU generator) and "rng.cuda:N" for `device` when it is
// CUDA. The tensors are copies.
std::vector<io::NamedTensor> capture_rng_state(c10::Device device);

// Sets the generators from tensors named as capture_rng_state() names them; throws llmft::Error
// naming `source` when one is missing.
void restore_rng_state(const std::map<std::string, at::Tensor>& state, c10::Device device, const std::string& source);

}  // namespace llmft::train
