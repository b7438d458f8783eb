#include "io/atomic_file.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace llmft::io;
using llmft::test::Contains;
using llmft::test::TempDir;

namespace {


std::size_t count_entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("write_file_atomically creates and replaces a file, leaving no temporary behind", "[io][atomic]") {
  TempDir tmp("llmft-atomic");
  const fs::path target = tmp.path / "out.json";
  write_file_atomically(target, "first");
  REQUIRE(llmft::test::read_file_bytes(target) == "first");
  write_file_atomically(target, std::string("second\0with nul", 15));
  REQUIRE(llmft::test::read_file_bytes(target) == std::string("second\0with nul", 15));
  REQUIRE(count_entries(tmp.path) == 1);
}

TEST_CASE("an uncommitted writer removes its temporary and leaves the old file intact", "[io][atomic]") {
  TempDir tmp("llmft-atomic");
  const fs::path target = tmp.path / "weights.bin";
  write_file_atomically(target, "old contents");
  {
    AtomicFileWriter writer(target);
    writer.write("new", 3);
    REQUIRE(count_entries(tmp.path) == 2);  // target + temporary
  }
  REQUIRE(count_entries(tmp.path) == 1);
  REQUIRE(llmft::test::read_file_bytes(target) == "old contents");
}

TEST_CASE("writer streams several writes and refuses use after commit", "[io][atomic]") {
  TempDir tmp("llmft-atomic");
  const fs::path target = tmp.path / "a.bin";
  AtomicFileWriter writer(target);
  REQUIRE_FALSE(fs::exists(target));  // nothing visible before commit
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string chunk = std::to_string(i) + ",";
    writer.write(chunk.data(), chunk.size());
    expected += chunk;
  }
  writer.write(nullptr, 0);
  writer.commit();
  REQUIRE(llmft::test::read_file_bytes(target) == expected);
  REQUIRE_THROWS_WITH(writer.write("x", 1), Contains(target.string()));
  REQUIRE_THROWS_WITH(writer.commit(), Contains(target.string()));
}

TEST_CASE("writer errors name the target file", "[io][atomic]") {
  TempDir tmp("llmft-atomic");
  const fs::path in_missing_dir = tmp.path / "no-such-dir" / "model.safetensors";
  REQUIRE_THROWS_AS(AtomicFileWriter(in_missing_dir), llmft::Error);
  REQUIRE_THROWS_WITH(AtomicFileWriter(in_missing_dir),
                      Contains(in_missing_dir.string()) && Contains("No such file or directory"));
}

TEST_CASE("a failing write (file size limit, like a full disk) names the file and the cause", "[io][atomic]") {
  TempDir tmp("llmft-atomic");
  const fs::path target = tmp.path / "big.bin";
  write_file_atomically(target, "previous");

  // RLIMIT_FSIZE makes write() fail with EFBIG past 4 KiB, standing in for ENOSPC without a full
  // disk; SIGXFSZ would otherwise kill the process.
  struct rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto* saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);

  std::string message;
  {
    AtomicFileWriter writer(target);
    const std::string chunk(8192, 'x');
    try {
      writer.write(chunk.data(), chunk.size());
      writer.write(chunk.data(), chunk.size());
    } catch (const llmft::Error& e) {
      message = e.what();
    }
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);

  REQUIRE_THAT(message, Contains(target.string()) && Contains("File too large"));
  REQUIRE(llmft::test::read_file_bytes(target) == "previous");
  REQUIRE(count_entries(tmp.path) == 1);
}
