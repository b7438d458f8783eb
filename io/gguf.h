#pragma once
// GGUF (llama.cpp's model file), versions 2 and 3: magic "GGUF", version, tensor count, metadata
// key/value count, typed metadata, tensor infos (name, dims, type, offset), padding to
// `general.alignment` (default 32), then the data section. Everything little-endian.
//
// Reading memory-maps the file and validates it strictly (counts and string lengths bounded by the
// file, known value/tensor types, offsets aligned and inside the data section, dims x type size =
// byte length, no overlapping tensors, unique keys and names) before anything is handed out.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <ATen/Tensor.h>

namespace llmft::io {

// ggml tensor types (values as in ggml.h).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41,
};
std::string ggml_type_name(GgmlType type);  // "Q4_K", or "type 77" when unknown

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
// One metadata value. Integers of every width are widened to int64/uint64 (the original GGUF
// value type is kept in `type` for display), floats to double.
struct GgufValue {
  enum class Type : uint32_t { U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
                               STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12 };
  Type type = Type::U32;
  Type element_type = Type::U32;  // for ARRAY
  std::variant<int64_t, uint64_t, double, bool, std::string, std::shared_ptr<GgufArray>> value;
};
std::string gguf_value_type_name(GgufValue::Type type);  // "UINT32", "ARRAY", ...

struct GgufTensorInfo {
  std::string name;                // llama.cpp name, e.g. "blk.0.attn_q.weight"
  std::vector<int64_t> dims;       // ggml order: dims[0] is the contiguous (fastest) dimension
  GgmlType type;
  uint64_t offset = 0;             // relative to the data section
  uint64_t nbytes = 0;
  int64_t numel() const;
  // PyTorch/HF order: reversed dims, e.g. a [576, 1536] ggml matrix is [1536, 576].
  std::vector<int64_t> torch_shape() const;
};

class MappedFile;

class GgufFile {
 public:
  static GgufFile open(const std::filesystem::path& path);  // throws llmft::Error naming the file

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;

  // Typed metadata accessors; each throws llmft::Error naming the file and key when the key is
  // missing (unless a default is given) or has another type.
  std::string get_string(const std::string& key) const;
  std::optional<std::string> get_string_or(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  std::optional<int64_t> get_int_or(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::optional<double> get_float_or(const std::string& key) const;
  std::optional<bool> get_bool_or(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  std::vector<double> get_float_array(const std::string& key) const;

  // Raw bytes of a tensor inside the mapping.
  const uint8_t* tensor_data(const GgufTensorInfo& info) const;
  // Dequantized tensor in torch order (torch_shape()), dtype fp32 or bf16 (bf16 = fp32 result
  // rounded once). Throws llmft::Error naming the tensor and type for unsupported types.
  at::Tensor dequantize(const GgufTensorInfo& info, c10::ScalarType dtype) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, std::size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace llmft::io
