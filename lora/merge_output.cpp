#include "lora/merge_output.h"

#include <sys/resource.h>

#include "io/error.h"

namespace llmft::lora {
namespace fs = std::filesystem;

namespace {

fs::path with_suffix(const fs::path& out, const char* suffix) {
  fs::path clean = out;
  if (!clean.has_filename()) clean = clean.parent_path();  // "merged/" -> "merged"
  return clean.string() + suffix;
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw Error(path.string() + ": cannot remove: " + ec.message());
}

void rename_dir(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw Error(to.string() + ": cannot rename " + from.string() + " to it: " + ec.message());
}

}  // namespace

fs::path partial_dir(const fs::path& out) { return with_suffix(out, ".partial"); }
fs::path rejected_dir(const fs::path& out) { return with_suffix(out, ".rejected"); }

void check_output_target(const fs::path& out, bool force) {
  if (!fs::exists(out)) return;
  if (!fs::is_directory(out)) throw Error(out.string() + ": --out exists and is not a directory");
  if (!fs::is_empty(out) && !force)
    throw Error(out.string() + ": output directory is not empty (use --force to replace it)");
}

fs::path begin_output(const fs::path& out) {
  const fs::path partial = partial_dir(out);
  remove_tree(partial);
  std::error_code ec;
  fs::create_directories(partial, ec);
  if (ec) throw Error(partial.string() + ": cannot create: " + ec.message());
  return partial;
}

void publish_output(const fs::path& out) {
  if (fs::exists(out)) remove_tree(out);
  rename_dir(partial_dir(out), out);
}

fs::path reject_output(const fs::path& out) {
  const fs::path rejected = rejected_dir(out);
  remove_tree(rejected);
  rename_dir(partial_dir(out), rejected);
  return rejected;
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace llmft::lora
