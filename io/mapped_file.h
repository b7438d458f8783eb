#pragma once
// A whole file mapped read-only into memory. Tensors handed out by SafetensorsFile::tensor() view
// these bytes directly and hold a std::shared_ptr<MappedFile>, so the mapping lives as long as the
// last tensor that needs it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace llmft::io {

class MappedFile {
 public:
  // Maps `path` (PROT_READ, MAP_PRIVATE). Throws llmft::Error naming the file when it is missing,
  // is not a regular file (e.g. a directory), cannot be opened (permission) or cannot be mapped.
  // An empty file is valid: data() is nullptr and size() is 0.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // True when [p, p + n) lies inside the mapping.
  bool contains(const void* p, std::size_t n = 0) const;

 private:
  MappedFile(std::filesystem::path path, const uint8_t* data, std::size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llmft::io
