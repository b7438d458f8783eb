#pragma once
// Crash-safe file writing: data goes to "<path>.tmp.<pid>" in the same directory, is fsync'ed, then
// renamed over <path>, and the directory is fsync'ed. A reader never sees a half-written file.
#include <cstddef>
#include <filesystem>
#include <string>

namespace llmft::io {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();  // removes the temporary file unless commit() succeeded
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends bytes; throws llmft::Error naming the file on any write failure (e.g. disk full).
  void write(const void* data, std::size_t size);
  // fsync + rename + directory fsync.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Convenience: atomically replaces `path` with `contents`.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace llmft::io
