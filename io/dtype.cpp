#include "io/dtype.h"

#include <array>

#include "io/error.h"

namespace llmft::io {
namespace {
struct DTypeRow {
  DType dtype;
  std::string_view name;
  std::size_t size;
  c10::ScalarType scalar;
};
constexpr std::array<DTypeRow, 10> kDTypes = {{
    {DType::F64, "F64", 8, c10::ScalarType::Double},
    {DType::F32, "F32", 4, c10::ScalarType::Float},
    {DType::F16, "F16", 2, c10::ScalarType::Half},
    {DType::BF16, "BF16", 2, c10::ScalarType::BFloat16},
    {DType::I64, "I64", 8, c10::ScalarType::Long},
    {DType::I32, "I32", 4, c10::ScalarType::Int},
    {DType::I16, "I16", 2, c10::ScalarType::Short},
    {DType::I8, "I8", 1, c10::ScalarType::Char},
    {DType::U8, "U8", 1, c10::ScalarType::Byte},
    {DType::BOOL, "BOOL", 1, c10::ScalarType::Bool},
}};

const DTypeRow& row(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)]; }
}  // namespace

std::size_t dtype_size(DType dtype) { return row(dtype).size; }
std::string_view dtype_name(DType dtype) { return row(dtype).name; }
c10::ScalarType to_scalar_type(DType dtype) { return row(dtype).scalar; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& r : kDTypes)
    if (r.name == name) return r.dtype;
  return std::nullopt;
}

std::optional<DType> from_scalar_type(c10::ScalarType type) {
  for (const auto& r : kDTypes)
    if (r.scalar == type) return r.dtype;
  return std::nullopt;
}

c10::ScalarType parse_compute_dtype(const std::string& text, const std::string& what) {
  if (text == "fp32" || text == "float32") return c10::ScalarType::Float;
  if (text == "bf16" || text == "bfloat16") return c10::ScalarType::BFloat16;
  if (text == "fp16" || text == "float16") return c10::ScalarType::Half;
  throw Error(what + ": unknown dtype '" + text + "' (expected fp32, bf16 or fp16)");
}

}  // namespace llmft::io
