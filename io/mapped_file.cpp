#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "io/error.h"

namespace llmft::io {
namespace {

// Closes the descriptor on every exit path; the mapping stays valid after close().
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string describe_errno(const std::filesystem::path& path, const char* action, int err) {
  return std::string("cannot ") + action + " " + path.string() + ": " + std::strerror(err);
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw Error(describe_errno(path, "open", errno));
  FdCloser closer{fd};

  struct stat st{};
  if (::fstat(fd, &st) != 0) throw Error(describe_errno(path, "stat", errno));
  if (S_ISDIR(st.st_mode)) throw Error("cannot read " + path.string() + ": is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw Error("cannot read " + path.string() + ": not a regular file");

  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) return std::shared_ptr<MappedFile>(new MappedFile(path, nullptr, 0));

  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) throw Error(describe_errno(path, "memory-map", errno));
  return std::shared_ptr<MappedFile>(new MappedFile(path, static_cast<const uint8_t*>(addr), size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool MappedFile::contains(const void* p, std::size_t n) const {
  const auto begin = reinterpret_cast<uintptr_t>(data_);
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return data_ != nullptr && addr >= begin && addr - begin <= size_ && n <= size_ - (addr - begin);
}

}  // namespace llmft::io
