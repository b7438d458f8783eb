#include "io/safetensors.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace llmft::io {
namespace {

// The format is little-endian; reading and writing copy bytes verbatim.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::size_t kLengthBytes = 8;  // the u64 header length that starts every file

using Json = nlohmann::json;

std::string supported_dtypes() {
  std::string out;
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16,
                  DType::I8, DType::U8, DType::BOOL}) {
    if (!out.empty()) out += ", ";
    out += dtype_name(d);
  }
  return out;
}

// Every reading error starts with the file, and names the tensor when one is at fault.
[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw Error(file.string() + ": " + what);
}
[[noreturn]] void fail_tensor(const std::filesystem::path& file, const std::string& name, const std::string& what) {
  fail(file, "tensor '" + name + "': " + what);
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Parses the header, refusing a key repeated inside one object: nlohmann (like most JSON
// libraries) would silently keep the last value, so a second "w" entry could hide the first.
Json parse_header(std::string_view text, const std::filesystem::path& file) {
  struct OpenObject {
    std::set<std::string> keys;  // keys seen so far in this object
    std::string last_key;
  };
  std::vector<OpenObject> open_objects;  // outermost first
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().keys.insert(key).second) {
          if (depth == 1) fail_tensor(file, key, "appears more than once in the header");
          fail(file, "header entry '" + open_objects.front().last_key + "' repeats the key '" + key + "'");
        }
        open_objects.back().last_key = key;
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), on_event);
  } catch (const Json::exception& e) {
    fail(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::filesystem::path& file, const std::string& name) {
  if (b != 0 && a > std::numeric_limits<uint64_t>::max() / b) fail_tensor(file, name, "shape is too large");
  return a * b;
}

std::map<std::string, std::string> parse_metadata(const Json& value, const std::filesystem::path& file) {
  if (!value.is_object()) fail(file, "__metadata__ must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) fail(file, "__metadata__ entry '" + key + "' must be a string, got " + v.dump());
    out.emplace(key, v.get<std::string>());
  }
  return out;
}

// One header entry {"dtype": .., "shape": [..], "data_offsets": [b, e]} → TensorInfo, checking it
// against the data section size `data_size`.
TensorInfo parse_entry(const std::string& name, const Json& entry, uint64_t data_size,
                       const std::filesystem::path& file) {
  if (!entry.is_object()) fail_tensor(file, name, "header entry must be an object");
  TensorInfo info;
  info.name = name;

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) fail_tensor(file, name, "missing string field 'dtype'");
  const auto& dtype_text = dtype_it->get_ref<const std::string&>();
  const auto dtype = dtype_from_name(dtype_text);
  if (!dtype) fail_tensor(file, name, "unsupported dtype '" + dtype_text + "' (supported: " + supported_dtypes() + ")");
  info.dtype = *dtype;

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) fail_tensor(file, name, "missing array field 'shape'");
  uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_integer() || (dim.is_number_unsigned() &&
                                     dim.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      fail_tensor(file, name, "shape " + shape_it->dump() + " must hold non-negative integers");
    const int64_t d = dim.get<int64_t>();
    if (d < 0) fail_tensor(file, name, "shape " + shape_it->dump() + " has a negative dimension");
    info.shape.push_back(d);
    numel = checked_mul(numel, static_cast<uint64_t>(d), file, name);
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
    fail_tensor(file, name, "'data_offsets' must be [begin, end] with non-negative integers");
  info.data_begin = (*offsets_it)[0].get<uint64_t>();
  info.data_end = (*offsets_it)[1].get<uint64_t>();
  if (info.data_begin > info.data_end)
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + " has begin > end");
  if (info.data_end > data_size)
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + " run past the data section (" +
                                std::to_string(data_size) + " bytes)");

  const uint64_t expected = checked_mul(numel, dtype_size(info.dtype), file, name);
  if (info.nbytes() != expected)
    fail_tensor(file, name, "data_offsets " + offsets_it->dump() + " span " + std::to_string(info.nbytes()) +
                                " bytes but dtype " + dtype_text + " with shape " + shape_it->dump() + " needs " +
                                std::to_string(expected));
  return info;
}

// `tensors` sorted by offset must cover [0, data_size) exactly: an overlap would let two tensors
// alias, and the reference implementation also refuses gaps and trailing bytes.
void check_tiling(const std::vector<TensorInfo>& tensors, uint64_t data_size, const std::filesystem::path& file) {
  uint64_t cursor = 0;
  const TensorInfo* previous = nullptr;
  for (const auto& t : tensors) {
    if (t.data_begin < cursor)
      fail_tensor(file, t.name, "data overlaps tensor '" + previous->name + "' (bytes " +
                                    std::to_string(t.data_begin) + ".." + std::to_string(cursor) + ")");
    if (t.data_begin > cursor)
      fail(file, "data section bytes " + std::to_string(cursor) + ".." + std::to_string(t.data_begin) +
                     " belong to no tensor (hole before tensor '" + t.name + "')");
    cursor = t.data_end;
    previous = &t;
  }
  if (cursor != data_size)
    fail(file, "data section has " + std::to_string(data_size - cursor) +
                   " trailing bytes that belong to no tensor (it is " + std::to_string(data_size) + " bytes)");
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile file;
  file.path_ = path;
  file.mapping_ = MappedFile::open(path);
  const uint8_t* bytes = file.mapping_->data();
  const uint64_t size = file.mapping_->size();

  if (size < kLengthBytes)
    fail(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  const uint64_t header_len = read_le64(bytes);
  if (header_len > kMaxSafetensorsHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                   std::to_string(kMaxSafetensorsHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  if (header_len > size - kLengthBytes)
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                   std::to_string(size) + " bytes)");
  file.data_start_ = kLengthBytes + header_len;
  const uint64_t data_size = size - file.data_start_;

  const std::string_view text(reinterpret_cast<const char*>(bytes + kLengthBytes), header_len);
  const Json header = parse_header(text, path);
  if (!header.is_object()) fail(path, "header must be a JSON object, got " + std::string(header.type_name()));

  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata_ = parse_metadata(value, path);
      continue;
    }
    file.tensors_.push_back(parse_entry(key, value, data_size, path));
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.data_begin, a.data_end, a.name) < std::tie(b.data_begin, b.data_end, b.name);
  });
  check_tiling(file.tensors_, data_size, path);
  for (std::size_t i = 0; i < file.tensors_.size(); ++i) file.index_.emplace(file.tensors_[i].name, i);
  return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const MappedFile& SafetensorsFile::mapping() const { return *mapping_; }

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) fail(path_, "no tensor named '" + name + "'");
  const auto options = at::TensorOptions().dtype(to_scalar_type(info->dtype)).device(at::kCPU);
  if (info->nbytes() == 0) return at::empty(info->shape, options);

  const uint8_t* data = mapping_->data() + data_start_ + info->data_begin;
  // libtorch kernels assume element-aligned storage; a header whose length is not a multiple of
  // the element size (other writers do not always pad) leaves the data misaligned, so copy.
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(info->dtype) != 0) {
    at::Tensor copy = at::empty(info->shape, options);
    std::memcpy(copy.data_ptr(), data, info->nbytes());
    return copy;
  }
  // The deleter owns a reference to the mapping, so the bytes outlive this SafetensorsFile.
  return at::from_blob(
      const_cast<uint8_t*>(data), info->shape, [keep = mapping_](void*) mutable { keep.reset(); }, options);
}

void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Header first: it fixes every tensor's offsets, so each tensor can then be streamed alone.
  // ordered_json keeps the tensors in the caller's order, which is also their data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == kMetadataKey) fail(path, "invalid tensor name '" + name + "'");
    if (!seen.insert(name).second) fail_tensor(path, name, "name given twice");
    if (!tensor.defined()) fail_tensor(path, name, "undefined (holds no data)");
    const auto dtype = from_scalar_type(tensor.scalar_type());
    if (!dtype)
      fail_tensor(path, name, std::string("dtype ") + c10::toString(tensor.scalar_type()) +
                                  " cannot be written (supported: " + supported_dtypes() + ")");
    const uint64_t nbytes = static_cast<uint64_t>(tensor.numel()) * dtype_size(*dtype);
    header[name] = {{"dtype", std::string(dtype_name(*dtype))},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    fail(path, std::string("cannot encode header (") + e.what() + ")");
  }
  // Pad with spaces so the data section starts 8-byte aligned and mmap views need no copy.
  text.append((kLengthBytes - text.size() % kLengthBytes) % kLengthBytes, ' ');

  AtomicFileWriter writer(path);
  const uint64_t header_len = text.size();
  writer.write(&header_len, sizeof header_len);
  writer.write(text.data(), text.size());
  for (const auto& [name, tensor] : tensors) {
    at::Tensor t = tensor.is_sparse() ? tensor.to_dense() : tensor;
    t = t.to(at::kCPU).resolve_conj().resolve_neg().contiguous();
    writer.write(t.data_ptr(), t.nbytes());
  }
  writer.commit();
}

}  // namespace llmft::io
