#pragma once
// The safetensors format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the data section. Offsets are relative to the data section.
//
// Reading memory-maps the file and validates it strictly before anything is handed out: header
// length inside the file and bounded, well-formed JSON, every offset inside the data section,
// byte length == product(shape) * dtype size, no two tensors overlapping, names unique, and (as the
// reference implementation requires) the tensors tile the data section with no gap or trailing bytes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "io/dtype.h"

namespace llmft::io {

// Largest JSON header accepted when reading, as in the reference implementation (safetensors'
// MAX_HEADER_SIZE); it stops a corrupt length field from driving a huge allocation or parse.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t data_begin = 0;  // byte offsets relative to the start of the data section
  uint64_t data_end = 0;
  int64_t numel() const;
  uint64_t nbytes() const { return data_end - data_begin; }
};

class MappedFile;  // read-only mmap of a whole file (io/mapped_file.h)

class SafetensorsFile {
 public:
  // Maps and validates. Throws llmft::Error naming the file (and tensor, when one is at fault).
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Tensors in file order (ascending data offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent

  // A CPU tensor viewing the mapped bytes (no copy); it keeps the mapping alive. Read-only (the
  // pages are mapped PROT_READ; writing into them faults): copy or convert before modifying. Data
  // not aligned to its element size (a header length that is not a multiple of 8) comes back as an
  // aligned copy instead. Throws llmft::Error if `name` is absent.
  at::Tensor tensor(const std::string& name) const;
  // The mapped bytes that tensor() views point into.
  const MappedFile& mapping() const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint64_t data_start_ = 0;  // absolute file offset of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

struct NamedTensor {
  std::string name;
  at::Tensor tensor;  // any device/layout; written as a contiguous CPU copy
};

// Writes atomically (io/atomic_file.h), tensors in the given order, streaming each tensor's bytes
// (peak extra memory: one tensor). Throws llmft::Error on unsupported dtype or duplicate names.
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace llmft::io
