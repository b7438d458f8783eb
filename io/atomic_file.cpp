#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/error.h"

namespace llmft::io {
namespace {

std::string failure(const std::filesystem::path& target, const std::string& action, int err) {
  return "cannot write " + target.string() + ": " + action + " failed: " + std::strerror(err);
}

std::filesystem::path parent_dir(const std::filesystem::path& target) {
  const auto parent = target.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// Makes the rename itself durable: without this a crash can leave the directory entry pointing
// at the old file (or at nothing) even though the new file's bytes reached the disk.
void fsync_directory(const std::filesystem::path& target) {
  const auto dir = parent_dir(target);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(failure(target, "opening directory " + dir.string(), errno));
  // Some filesystems refuse fsync on directories (EINVAL); the rename is still done then.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    ::close(fd);
    throw Error(failure(target, "fsync of directory " + dir.string(), err));
  }
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
  if (target_.filename().empty()) throw Error("cannot write '" + target_.string() + "': not a file name");
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
  do {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw Error(failure(target_, "creating temporary file " + temp_.string(), errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw Error("cannot write " + target_.string() + ": file already committed or failed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    // Linux writes at most ~2 GiB per call; loop for partial writes and interrupted calls.
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(failure(target_, "write", errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw Error("cannot write " + target_.string() + ": file already committed or failed");
  if (::fsync(fd_) != 0) throw Error(failure(target_, "fsync", errno));
  const int fd = fd_;
  fd_ = -1;
  // close() can report deferred write errors (e.g. on network filesystems).
  if (::close(fd) != 0) throw Error(failure(target_, "close", errno));
  if (std::rename(temp_.c_str(), target_.c_str()) != 0)
    throw Error(failure(target_, "rename from " + temp_.string(), errno));
  committed_ = true;
  fsync_directory(target_);
}

void write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  AtomicFileWriter writer(path);
  writer.write(contents.data(), contents.size());
  writer.commit();
}

}  // namespace llmft::io
