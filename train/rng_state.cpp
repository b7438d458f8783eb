#include "train/rng_state.h"

#include <mutex>

#include <ATen/Context.h>

#include "io/error.h"

namespace llmft::train {
namespace {

std::string cuda_key(c10::Device device) {
  int index = device.has_index() ? device.index() : 0;
  return "rng.cuda:" + std::to_string(index);
}

at::Generator generator_for(c10::Device device) {
  if (device.is_cuda()) {
    return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, device.has_index() ? device.index() : 0));
  }
  return at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
}

void set_state(at::Generator generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

at::Tensor get_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state().clone();
}

}  // namespace

std::vector<io::NamedTensor> capture_rng_state(c10::Device device) {
  std::vector<io::NamedTensor> out;
  out.push_back({"rng.cpu", get_state(generator_for(c10::Device(c10::kCPU)))});
  if (device.is_cuda()) out.push_back({cuda_key(device), get_state(generator_for(device))});
  return out;
}

void restore_rng_state(const std::map<std::string, at::Tensor>& state, c10::Device device, const std::string& source) {
  auto take = [&](const std::string& key) -> const at::Tensor& {
    auto it = state.find(key);
    if (it == state.end()) throw Error(source + ": missing random-number state '" + key + "'");
    return it->second;
  };
  set_state(generator_for(c10::Device(c10::kCPU)), take("rng.cpu").contiguous());
  if (device.is_cuda()) set_state(generator_for(device), take(cuda_key(device)).contiguous());
}

}  // namespace llmft::train
