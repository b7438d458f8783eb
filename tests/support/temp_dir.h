#pragma once
// Test scratch space: a fresh, uniquely named directory under the system temp dir, removed with
// everything in it when the object dies. `path` is public so tests can write `dir.path / "x"`.
#include <filesystem>
#include <string>

namespace llmft::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "llmft-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The whole file as bytes (empty when it cannot be read).
std::string read_file_bytes(const std::filesystem::path& path);

}  // namespace llmft::test
