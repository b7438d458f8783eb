#include "data/template_text.h"

#include <cstdint>

#include "io/error.h"

namespace llmft::data {
namespace {

// The code points for which Python's str.isspace() is true.
bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Length of the UTF-8 sequence starting with `lead` (1 for bytes that cannot start one).
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  if (lead >= 0xE0) return lead < 0xF0 ? 3 : 1;
  if (lead >= 0xC0) return 2;
  return 1;
}

// The code point of the well-formed sequence at text[at, at + n), or 0xFFFD when it is not one.
uint32_t decode_at(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return 0xFFFD;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  if (n == 1) return byte(0) < 0x80 ? byte(0) : 0xFFFD;
  uint32_t c = byte(0) & (0xFF >> (n + 1));
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (byte(i) & 0x3F);
  }
  return c;
}

}  // namespace

std::string python_strip(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t n = sequence_length(static_cast<unsigned char>(text[begin]));
    if (!is_python_space(decode_at(text, begin, n))) break;
    begin += n;
  }
  std::size_t end = text.size();
  while (end > begin) {
    std::size_t start = end - 1;  // back up to the lead byte of the last character
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    const std::size_t n = sequence_length(static_cast<unsigned char>(text[start]));
    if (start + n != end || !is_python_space(decode_at(text, start, n))) break;
    end = start;
  }
  return std::string(text.substr(begin, end - begin));
}

void require_alternating_turns(const std::vector<ChatMessage>& messages, const std::string& template_name) {
  const std::size_t first = !messages.empty() && messages.front().role == "system" ? 1 : 0;
  for (std::size_t i = first; i < messages.size(); ++i) {
    const char* expected = (i - first) % 2 == 0 ? "user" : "assistant";
    if (messages[i].role != expected) {
      throw Error("template " + template_name + ": message " + std::to_string(i) + " is '" + messages[i].role +
                  "' where '" + expected +
                  "' was expected (roles must alternate user/assistant after an optional first system message)");
    }
  }
}

}  // namespace llmft::data
