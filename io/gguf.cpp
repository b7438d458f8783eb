// GGUF parsing and validation, and the typed metadata accessors. The layout (all little-endian):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x  (string key | u32 value type | value)
//   tensor_count x  (string name | u32 n_dims | u64 dims[n_dims] | u32 ggml type | u64 offset)
//   padding to general.alignment | data section (tensor offsets are relative to its start)
// where a string is u64 length + bytes and an array value is u32 element type + u64 count + values.
// Version 1 used 32-bit counts and lengths; versions 2 and 3 share this layout (3 only added
// big-endian files, which start with a byte-swapped version).
#include "io/gguf.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>

#include "io/error.h"
#include "io/gguf_dequantize.h"
#include "io/mapped_file.h"

static_assert(std::endian::native == std::endian::little, "GGUF reading assumes a little-endian host");

namespace llmft::io {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;              // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;             // nested arrays deeper than this are corrupt
constexpr const char* kAlignmentKey = "general.alignment";

// Smallest encodings, used to bound counts by the bytes left before anything is allocated.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;                // empty key, type, a u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;    // empty name, 0 dims, type, offset

using VType = GgufValue::Type;

uint64_t min_value_bytes(VType type) {
  switch (type) {
    case VType::U8: case VType::I8: case VType::BOOL: return 1;
    case VType::U16: case VType::I16: return 2;
    case VType::U32: case VType::I32: case VType::F32: return 4;
    case VType::U64: case VType::I64: case VType::F64: case VType::STRING: return 8;
    case VType::ARRAY: return 12;
  }
  return 1;
}

bool is_integer(VType type) {
  return type == VType::U8 || type == VType::I8 || type == VType::U16 || type == VType::I16 ||
         type == VType::U32 || type == VType::I32 || type == VType::U64 || type == VType::I64;
}
bool is_float(VType type) { return type == VType::F32 || type == VType::F64; }

// A bounds-checked cursor over the mapped header. Every read names what it was reading, so a
// truncated or corrupt file says where it went wrong.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, std::string file)
      : data_(data), size_(size), file_(std::move(file)) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error("GGUF file '" + file_ + "': " + message);
  }

  template <typename T>
  T read(const std::string& what) {
    if (remaining() < sizeof(T)) {
      fail("truncated: " + what + " at byte " + std::to_string(pos_) + " needs " +
           std::to_string(sizeof(T)) + " bytes, " + std::to_string(remaining()) + " left");
    }
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>("length of " + what);
    if (length > remaining()) {
      fail(what + " at byte " + std::to_string(pos_) + " claims " + std::to_string(length) +
           " bytes but only " + std::to_string(remaining()) + " are left in the file");
    }
    std::string text(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return text;
  }

  // Fails unless `count` items of at least `min_bytes` each can fit in what is left.
  void check_count(uint64_t count, uint64_t min_bytes, const std::string& what) const {
    if (count > remaining() / min_bytes) {
      fail(what + " " + std::to_string(count) + " cannot fit in the " + std::to_string(remaining()) +
           " bytes left in the file (corrupt count)");
    }
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  std::string file_;
  uint64_t pos_ = 0;
};

VType read_value_type(Cursor& in, const std::string& what) {
  const uint32_t id = in.read<uint32_t>("value type of " + what);
  if (id > static_cast<uint32_t>(VType::F64)) {
    in.fail(what + ": unknown metadata value type " + std::to_string(id));
  }
  return static_cast<VType>(id);
}

GgufValue read_value(Cursor& in, VType type, const std::string& what, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case VType::U8: v.value = uint64_t{in.read<uint8_t>(what)}; break;
    case VType::I8: v.value = int64_t{in.read<int8_t>(what)}; break;
    case VType::U16: v.value = uint64_t{in.read<uint16_t>(what)}; break;
    case VType::I16: v.value = int64_t{in.read<int16_t>(what)}; break;
    case VType::U32: v.value = uint64_t{in.read<uint32_t>(what)}; break;
    case VType::I32: v.value = int64_t{in.read<int32_t>(what)}; break;
    case VType::U64: v.value = uint64_t{in.read<uint64_t>(what)}; break;
    case VType::I64: v.value = int64_t{in.read<int64_t>(what)}; break;
    case VType::F32: v.value = double{in.read<float>(what)}; break;
    case VType::F64: v.value = in.read<double>(what); break;
    case VType::BOOL: {
      const uint8_t byte = in.read<uint8_t>(what);
      if (byte > 1) in.fail(what + ": bool value " + std::to_string(byte) + " is neither 0 nor 1");
      v.value = byte == 1;
      break;
    }
    case VType::STRING: v.value = in.read_string(what); break;
    case VType::ARRAY: {
      if (depth >= kMaxArrayDepth) {
        in.fail(what + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
      }
      v.element_type = read_value_type(in, what + " (array element)");
      const uint64_t count = in.read<uint64_t>("element count of " + what);
      in.check_count(count, min_value_bytes(v.element_type), what + ": array element count");
      auto items = std::make_shared<GgufArray>();
      items->reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        items->push_back(read_value(in, v.element_type, what + "[" + std::to_string(i) + "]", depth + 1));
      }
      v.value = std::move(items);
      break;
    }
  }
  return v;
}

uint64_t align_up(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

// Fills in nbytes after checking dims and type; fails naming the tensor.
void size_tensor(Cursor& in, GgufTensorInfo& info, uint32_t type_id) {
  const std::string what = "tensor '" + info.name + "'";
  const GgmlTypeInfo* type = ggml_type_info(info.type);
  if (type == nullptr) in.fail(what + ": unknown tensor type id " + std::to_string(type_id));
  int64_t numel = 1;
  for (int64_t dim : info.dims) {
    if (dim < 0 || (dim != 0 && numel > std::numeric_limits<int64_t>::max() / dim)) {
      in.fail(what + ": element count overflows (dims too large)");
    }
    numel *= dim;
  }
  if (!info.dims.empty() && info.dims[0] % type->block_size != 0) {
    in.fail(what + ": row length " + std::to_string(info.dims[0]) + " is not a multiple of the " +
            type->name + " block size " + std::to_string(type->block_size));
  }
  if (info.dims.empty() && type->block_size != 1) {
    in.fail(what + ": a scalar cannot have the block type " + std::string(type->name));
  }
  const uint64_t blocks = static_cast<uint64_t>(numel / type->block_size);
  if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(type->type_size)) {
    in.fail(what + ": byte size overflows");
  }
  info.nbytes = blocks * static_cast<uint64_t>(type->type_size);
}

}  // namespace

std::string ggml_type_name(GgmlType type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info != nullptr ? info->name : "type " + std::to_string(static_cast<uint32_t>(type));
}

std::string gguf_value_type_name(GgufValue::Type type) {
  static const char* const kNames[] = {"UINT8", "INT8",  "UINT16", "INT16",  "UINT32", "INT32", "FLOAT32",
                                       "BOOL",  "STRING", "ARRAY", "UINT64", "INT64",  "FLOAT64"};
  const auto id = static_cast<uint32_t>(type);
  return id < std::size(kNames) ? kNames[id] : "value type " + std::to_string(id);
}

int64_t GgufTensorInfo::numel() const {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<int64_t>());
}

std::vector<int64_t> GgufTensorInfo::torch_shape() const { return {dims.rbegin(), dims.rend()}; }

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile file;
  file.path_ = path;
  file.mapping_ = MappedFile::open(path);
  const uint64_t file_size = file.mapping_->size();
  Cursor in(file.mapping_->data(), file_size, path.string());

  // ---- header
  const uint32_t magic = in.read<uint32_t>("magic");
  if (magic != kGgufMagic) {
    char shown[5] = {};
    std::memcpy(shown, &magic, 4);
    for (int i = 0; i < 4; ++i) shown[i] = (shown[i] >= 32 && shown[i] < 127) ? shown[i] : '?';
    in.fail(std::string("not a GGUF file (starts with '") + shown + "', expected 'GGUF')");
  }
  file.version_ = in.read<uint32_t>("version");
  if (file.version_ == 1) in.fail("GGUF version 1 is not supported (only versions 2 and 3)");
  if (file.version_ != 2 && file.version_ != 3) {
    const uint32_t swapped = __builtin_bswap32(file.version_);
    if (swapped == 2 || swapped == 3) {
      in.fail("big-endian GGUF files are not supported");
    }
    in.fail("unsupported GGUF version " + std::to_string(file.version_) + " (only 2 and 3)");
  }
  const uint64_t tensor_count = in.read<uint64_t>("tensor count");
  const uint64_t kv_count = in.read<uint64_t>("metadata count");
  in.check_count(kv_count, kMinKvBytes, "metadata count");
  in.check_count(tensor_count, kMinTensorInfoBytes, "tensor count");

  // ---- metadata
  file.metadata_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = in.read_string("metadata key #" + std::to_string(i));
    const std::string what = "metadata key '" + key + "'";
    if (file.metadata_index_.count(key) != 0) in.fail(what + " appears twice");
    const VType type = read_value_type(in, what);
    GgufValue value = read_value(in, type, what, 0);
    file.metadata_index_.emplace(key, file.metadata_.size());
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* alignment = file.find(kAlignmentKey)) {
    if (alignment->type != VType::U32) {
      in.fail(std::string(kAlignmentKey) + " has type " + gguf_value_type_name(alignment->type) +
              ", expected UINT32");
    }
    const uint64_t value = std::get<uint64_t>(alignment->value);
    if (value == 0 || !std::has_single_bit(value)) {
      in.fail(std::string(kAlignmentKey) + " = " + std::to_string(value) + " is not a power of two");
    }
    file.alignment_ = value;
  } else {
    file.alignment_ = kDefaultAlignment;
  }

  // ---- tensor infos
  file.tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info;
    info.name = in.read_string("name of tensor #" + std::to_string(i));
    const std::string what = "tensor '" + info.name + "'";
    if (file.tensor_index_.count(info.name) != 0) in.fail(what + " appears twice");
    const uint32_t n_dims = in.read<uint32_t>("dimension count of " + what);
    if (n_dims > kMaxDims) {
      in.fail(what + " has " + std::to_string(n_dims) + " dimensions (at most " +
              std::to_string(kMaxDims) + ")");
    }
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = in.read<uint64_t>("dimension of " + what);
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        in.fail(what + ": dimension " + std::to_string(dim) + " is too large");
      }
      info.dims.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t type_id = in.read<uint32_t>("type of " + what);
    info.type = static_cast<GgmlType>(type_id);
    info.offset = in.read<uint64_t>("data offset of " + what);
    size_tensor(in, info, type_id);
    file.tensor_index_.emplace(info.name, file.tensors_.size());
    file.tensors_.push_back(std::move(info));
  }

  // ---- data section: every tensor aligned, inside it, and disjoint from the others
  file.data_start_ = align_up(in.position(), file.alignment_);
  const uint64_t data_size = file.data_start_ <= file_size ? file_size - file.data_start_ : 0;
  for (const GgufTensorInfo& info : file.tensors_) {
    const std::string what = "tensor '" + info.name + "'";
    if (info.offset % file.alignment_ != 0) {
      in.fail(what + ": data offset " + std::to_string(info.offset) +
              " is not a multiple of the alignment " + std::to_string(file.alignment_));
    }
    if (info.offset > data_size || info.nbytes > data_size - info.offset) {
      in.fail(what + ": data [" + std::to_string(info.offset) + ", " +
              std::to_string(info.offset + info.nbytes) + ") lies outside the data section of " +
              std::to_string(data_size) + " bytes (file truncated or offset corrupt)");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& info : file.tensors_) {
    if (info.nbytes > 0) by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& cur = *by_offset[i];
    if (prev.offset + prev.nbytes > cur.offset) {
      in.fail("tensors '" + prev.name + "' and '" + cur.name + "' overlap in the data section");
    }
  }
  return file;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// ---- typed accessors ---------------------------------------------------------------------------

namespace {

[[noreturn]] void key_error(const GgufFile& file, const std::string& key, const std::string& problem) {
  throw Error("GGUF file '" + file.path().string() + "': metadata key '" + key + "' " + problem);
}

[[noreturn]] void type_error(const GgufFile& file, const std::string& key, const GgufValue& v,
                             const std::string& expected) {
  std::string actual = gguf_value_type_name(v.type);
  if (v.type == VType::ARRAY) actual += " of " + gguf_value_type_name(v.element_type);
  key_error(file, key, "has type " + actual + ", expected " + expected);
}

int64_t as_int(const GgufFile& file, const std::string& key, const GgufValue& v) {
  if (!is_integer(v.type)) type_error(file, key, v, "an integer");
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      key_error(file, key, "value " + std::to_string(*u) + " does not fit in int64");
    }
    return static_cast<int64_t>(*u);
  }
  return std::get<int64_t>(v.value);
}

double as_float(const GgufFile& file, const std::string& key, const GgufValue& v) {
  if (is_float(v.type)) return std::get<double>(v.value);
  if (!is_integer(v.type)) type_error(file, key, v, "a number");
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return static_cast<double>(*u);
  return static_cast<double>(std::get<int64_t>(v.value));
}

const GgufArray& as_array(const GgufFile& file, const std::string& key, const GgufValue& v,
                          bool (*element_ok)(VType), const std::string& expected) {
  if (v.type != VType::ARRAY || !element_ok(v.element_type)) type_error(file, key, v, expected);
  return *std::get<std::shared_ptr<GgufArray>>(v.value);
}

const GgufValue& require(const GgufFile& file, const std::string& key) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) key_error(file, key, "is missing");
  return *v;
}

}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  if (v.type != VType::STRING) type_error(*this, key, v, "STRING");
  return std::get<std::string>(v.value);
}

std::optional<std::string> GgufFile::get_string_or(const std::string& key) const {
  if (find(key) == nullptr) return std::nullopt;
  return get_string(key);
}

int64_t GgufFile::get_int(const std::string& key) const { return as_int(*this, key, require(*this, key)); }

std::optional<int64_t> GgufFile::get_int_or(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  return as_int(*this, key, *v);
}

double GgufFile::get_float(const std::string& key) const { return as_float(*this, key, require(*this, key)); }

std::optional<double> GgufFile::get_float_or(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  return as_float(*this, key, *v);
}

std::optional<bool> GgufFile::get_bool_or(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != VType::BOOL) type_error(*this, key, *v, "BOOL");
  return std::get<bool>(v->value);
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufArray& items = as_array(*this, key, require(*this, key),
                                    [](VType t) { return t == VType::STRING; }, "ARRAY of STRING");
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const GgufValue& item : items) out.push_back(std::get<std::string>(item.value));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufArray& items = as_array(*this, key, require(*this, key), is_integer, "ARRAY of integers");
  std::vector<int64_t> out;
  out.reserve(items.size());
  for (const GgufValue& item : items) out.push_back(as_int(*this, key, item));
  return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  const GgufArray& items = as_array(*this, key, require(*this, key),
                                    [](VType t) { return is_float(t) || is_integer(t); },
                                    "ARRAY of numbers");
  std::vector<double> out;
  out.reserve(items.size());
  for (const GgufValue& item : items) out.push_back(as_float(*this, key, item));
  return out;
}

// ---- tensor data -------------------------------------------------------------------------------

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& info) const {
  const uint64_t size = mapping_->size();
  if (data_start_ > size || info.offset > size - data_start_ || info.nbytes > size - data_start_ - info.offset) {
    throw Error("GGUF file '" + path_.string() + "': tensor '" + info.name +
                "' does not lie inside this file's data section");
  }
  return mapping_->data() + data_start_ + info.offset;
}

at::Tensor GgufFile::dequantize(const GgufTensorInfo& info, c10::ScalarType dtype) const {
  const std::string what = "GGUF file '" + path_.string() + "': tensor '" + info.name + "'";
  if (dtype != at::kFloat && dtype != at::kBFloat16) {
    throw Error(what + ": can only dequantize to fp32 or bf16, not " + std::string(c10::toString(dtype)));
  }
  const GgmlTypeInfo* type = ggml_type_info(info.type);
  if (type == nullptr || !type->dequantizable) {
    throw Error(what + " has type " + ggml_type_name(info.type) + ", which cannot be dequantized");
  }
  const uint8_t* data = tensor_data(info);
  at::Tensor out = at::empty(info.torch_shape(), at::TensorOptions().dtype(dtype));
  if (dtype == at::kFloat) {
    dequantize_to_fp32(info.type, data, info.numel(), out.data_ptr<float>(), what);
  } else {
    dequantize_to_bf16(info.type, data, info.numel(), out.data_ptr<c10::BFloat16>(), what);
  }
  return out;
}

}  // namespace llmft::io
