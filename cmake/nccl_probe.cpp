// Configure-time probe (CMakeLists.txt): with a CUDA libtorch, does c10d's ProcessGroupNCCL.hpp
// compile against the nccl.h found here (the nvidia-nccl wheel's, or the CUDA toolkit's)?
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

c10::intrusive_ptr<c10d::ProcessGroupNCCL::Options> llmft_nccl_probe() {
  return c10d::ProcessGroupNCCL::Options::create();
}
