// Configure-time probe (CMakeLists.txt): does c10d's ProcessGroupGloo.hpp compile against the Gloo
// headers found on this system? Their version is the distribution's, not the one inside libtorch.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

c10::intrusive_ptr<c10d::ProcessGroupGloo::Options> llmft_gloo_probe() {
  return c10d::ProcessGroupGloo::Options::create_default();
}
