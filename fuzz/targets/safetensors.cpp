// safetensors: the bytes as a .safetensors file -> SafetensorsFile::open, then every tensor's info
// and data (the view tensor(name) hands out), as `llmft inspect` / model loading reach them.
#include <ATen/Tensor.h>

#include "fuzz/targets/common.h"
#include "io/error.h"
#include "io/safetensors.h"

namespace llmft::fuzz {

void safetensors(const uint8_t* data, size_t size) {
  const auto path = write_scratch("model.safetensors", data, size);
  try {
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
    uint64_t previous_end = 0;
    for (const io::TensorInfo& info : file.tensors()) {
      check(info.data_begin <= info.data_end, info.name + ": data_begin > data_end");
      check(info.data_begin >= previous_end, info.name + ": tensors out of order or overlapping");
      previous_end = info.data_end;
      check(file.find(info.name) == &info, info.name + ": find() does not return its info");
      const at::Tensor tensor = file.tensor(info.name);
      check(tensor.numel() == info.numel(), info.name + ": tensor numel differs from the header's");
      check(static_cast<uint64_t>(tensor.nbytes()) == info.nbytes(), info.name + ": tensor nbytes differs");
      check(tensor.sizes().vec() == info.shape, info.name + ": tensor shape differs from the header's");
      // Touch every byte of the view: reads outside the mapping fault here.
      if (tensor.nbytes() > 0) {
        const auto* bytes = static_cast<const uint8_t*>(tensor.data_ptr());
        unsigned sum = 0;
        for (size_t i = 0; i < tensor.nbytes(); ++i) sum += bytes[i];
        volatile unsigned sink = sum;
        (void)sink;
      }
    }
    for (const auto& [key, value] : file.metadata()) {
      volatile size_t sink = key.size() + value.size();
      (void)sink;
    }
  } catch (const Error&) {
  }
}

}  // namespace llmft::fuzz
