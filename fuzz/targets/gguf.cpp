// gguf: the bytes as a .gguf file -> GgufFile::open, then every metadata value (typed accessors
// included), every tensor (raw bytes, dequantized), and what `llmft convert`/`inspect` derive from
// a GGUF: the model config, the HF tensor mapping and the tokenizer.
#include <ATen/Tensor.h>

#include <memory>
#include <optional>
#include <variant>

#include "data/gguf_vocab.h"
#include "fuzz/targets/common.h"
#include "io/error.h"
#include "io/gguf.h"
#include "model/gguf_import.h"

namespace llmft::fuzz {
namespace {

// Dequantizing is bounded by the file size (validated bytes = dims x type size), but keep the
// output small so one input never dominates the run.
constexpr int64_t kMaxDequantizeElements = int64_t{1} << 20;

size_t walk(const io::GgufValue& value, int depth) {
  check(depth < 64, "metadata nesting deeper than the reader should allow");
  size_t n = 1;
  (void)io::gguf_value_type_name(value.type);
  if (const auto* array = std::get_if<std::shared_ptr<io::GgufArray>>(&value.value)) {
    check(*array != nullptr, "ARRAY value without elements");
    for (const io::GgufValue& element : **array) n += walk(element, depth + 1);
  } else if (const auto* text = std::get_if<std::string>(&value.value)) {
    n += text->size();
  }
  return n;
}

template <typename F>
void expect_error_or_value(F&& accessor) {
  try {
    (void)accessor();
  } catch (const Error&) {  // a key of another type: the accessors say so as an llmft::Error
  }
}

}  // namespace

void gguf(const uint8_t* data, size_t size) {
  const auto path = write_scratch("model.gguf", data, size);
  try {
    const io::GgufFile file = io::GgufFile::open(path);
    check(file.alignment() > 0, "alignment 0");
    for (const auto& entry : file.metadata()) {
      const std::string& key = entry.first;
      const io::GgufValue& value = entry.second;
      check(file.find(key) == &value, key + ": find() does not return its value");
      (void)walk(value, 0);
      expect_error_or_value([&] { return file.get_string(key); });
      expect_error_or_value([&] { return file.get_int(key); });
      expect_error_or_value([&] { return file.get_float(key); });
      expect_error_or_value([&] { return file.get_bool_or(key); });
      expect_error_or_value([&] { return file.get_string_array(key); });
      expect_error_or_value([&] { return file.get_int_array(key); });
      expect_error_or_value([&] { return file.get_float_array(key); });
    }
    for (const io::GgufTensorInfo& info : file.tensors()) {
      check(file.find_tensor(info.name) == &info, info.name + ": find_tensor() does not return its info");
      (void)io::ggml_type_name(info.type);
      const auto shape = info.torch_shape();
      check(shape.size() == info.dims.size(), info.name + ": torch_shape rank differs");
      const uint8_t* bytes = file.tensor_data(info);
      unsigned sum = 0;
      for (uint64_t i = 0; i < info.nbytes; ++i) sum += bytes[i];
      volatile unsigned sink = sum;
      (void)sink;
      if (info.numel() > kMaxDequantizeElements) continue;
      try {
        const at::Tensor fp32 = file.dequantize(info, c10::kFloat);
        check(fp32.numel() == info.numel(), info.name + ": dequantized numel differs");
        const at::Tensor bf16 = file.dequantize(info, c10::kBFloat16);
        check(bf16.numel() == info.numel(), info.name + ": dequantized bf16 numel differs");
      } catch (const Error&) {  // a type that cannot be dequantized
      }
    }
    // What `llmft convert model.gguf` and tokenizer loading derive from the file; each step fails
    // independently with an llmft::Error on a file that is not a supported model.
    std::optional<model::LlamaConfig> config;
    try {
      config = model::config_from_gguf(file);
    } catch (const Error&) {
    }
    try {
      const auto mappings = model::map_gguf_tensors(file);
      if (config) {
        for (const auto& mapping : mappings) {
          if (mapping.info->numel() > kMaxDequantizeElements) continue;
          try {
            (void)model::load_gguf_tensor(file, mapping, *config, c10::kFloat);
          } catch (const Error&) {
          }
        }
      }
    } catch (const Error&) {
    }
    try {
      const auto tokenizer = data::load_gguf_tokenizer(file);
      const auto ids = tokenizer->encode("Hello, world! 123 <s>", true);
      for (int32_t id : ids) check(id >= 0 && id < tokenizer->vocab_size(), "GGUF tokenizer: id out of range");
      (void)tokenizer->decode(ids);
    } catch (const Error&) {
    }
  } catch (const Error&) {
  }
}

}  // namespace llmft::fuzz
