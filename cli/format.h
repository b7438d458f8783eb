#pragma once
// Small text-formatting helpers shared by subcommands' human-readable output.
#include <cstdint>
#include <string>
#include <vector>

namespace llmft::cli {

std::string format_count(int64_t n);        // 1234567 -> "1,234,567"
std::string format_short_count(int64_t n);  // 1234567 -> "1.23M"
std::string format_bytes(uint64_t bytes);   // 1536 -> "1.5 KiB"

// Left-aligned columns separated by two spaces; `rows` includes the header row.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace llmft::cli
