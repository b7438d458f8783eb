#pragma once
// The output directory of `llmft merge`, written so that <out> only ever holds a finished merge:
// everything goes into "<out>.partial", which is renamed to <out> once the drift check passed, or
// to "<out>.rejected" when it failed (kept for inspection).
#include <cstdint>
#include <filesystem>

namespace llmft::lora {

std::filesystem::path partial_dir(const std::filesystem::path& out);   // "<out>.partial"
std::filesystem::path rejected_dir(const std::filesystem::path& out);  // "<out>.rejected"

// Throws llmft::Error when `out` is an existing file, or a non-empty directory and !force.
void check_output_target(const std::filesystem::path& out, bool force);

// A fresh, empty "<out>.partial" (one left by an interrupted merge is removed first).
std::filesystem::path begin_output(const std::filesystem::path& out);

// "<out>.partial" -> <out>, replacing what <out> held (check_output_target allowed it).
void publish_output(const std::filesystem::path& out);

// "<out>.partial" -> "<out>.rejected" (an earlier rejected merge is replaced); returns that path.
std::filesystem::path reject_output(const std::filesystem::path& out);

// The process's peak resident set size so far, in bytes (getrusage's ru_maxrss).
uint64_t peak_rss_bytes();

}  // namespace llmft::lora
