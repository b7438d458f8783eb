#pragma once
// Element types of tensors on disk (safetensors names) and their mapping to libtorch.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <c10/core/ScalarType.h>

namespace llmft::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// Bytes per element.
std::size_t dtype_size(DType dtype);
// Safetensors spelling: "F32", "BF16", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);
c10::ScalarType to_scalar_type(DType dtype);
std::optional<DType> from_scalar_type(c10::ScalarType type);

// User spelling used by recipes and the CLI: "fp32" | "bf16" | "fp16" (also "float32", "bfloat16",
// "float16"). Throws llmft::Error naming `what` (e.g. "--dtype") for anything else.
c10::ScalarType parse_compute_dtype(const std::string& text, const std::string& what);

}  // namespace llmft::io
