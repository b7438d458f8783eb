#include "data/byte_unicode.h"

#include <array>
#include <cstdint>

namespace llmft::data {
namespace {

// Bytes that stand for themselves in the byte-level alphabet.
bool is_self_spelled(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<std::string, 256> spelling;
  // Code point (all are < 0x144) -> byte, or -1.
  std::array<int16_t, 0x144> byte_of{};
};

const ByteTables& tables() {
  static const ByteTables t = [] {
    ByteTables t;
    t.byte_of.fill(-1);
    char32_t next_extra = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      const char32_t cp = is_self_spelled(b) ? char32_t(b) : next_extra++;
      append_utf8(t.spelling[b], cp);
      t.byte_of[cp] = int16_t(b);
    }
    return t;
  }();
  return t;
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// For a lead byte: the sequence length and the allowed range of the second byte (which is where
// overlong forms, surrogates and values above U+10FFFF are excluded). Length 0: not a lead byte.
struct LeadInfo {
  std::size_t length;
  unsigned char lo, hi;
};

LeadInfo lead_info(unsigned char c) {
  if (c < 0x80) return {1, 0, 0};
  if (c >= 0xC2 && c <= 0xDF) return {2, 0x80, 0xBF};
  if (c == 0xE0) return {3, 0xA0, 0xBF};
  if (c == 0xED) return {3, 0x80, 0x9F};
  if (c >= 0xE1 && c <= 0xEF) return {3, 0x80, 0xBF};
  if (c == 0xF0) return {4, 0x90, 0xBF};
  if (c >= 0xF1 && c <= 0xF3) return {4, 0x80, 0xBF};
  if (c == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// Number of leading bytes at pos that form a valid prefix of some UTF-8 character (0 for a byte
// that cannot start one); equals the full length when the character is complete.
std::size_t valid_prefix(std::string_view text, std::size_t pos, std::size_t& full_length) {
  const auto c = static_cast<unsigned char>(text[pos]);
  const LeadInfo info = lead_info(c);
  full_length = info.length;
  if (info.length <= 1) return info.length;
  std::size_t n = 1;
  if (pos + 1 >= text.size()) return n;
  const auto c1 = static_cast<unsigned char>(text[pos + 1]);
  if (c1 < info.lo || c1 > info.hi) return n;
  ++n;
  while (n < info.length && pos + n < text.size() && is_continuation(static_cast<unsigned char>(text[pos + n]))) {
    ++n;
  }
  return n;
}

}  // namespace

std::string_view byte_spelling(unsigned char b) { return tables().spelling[b]; }

std::string byte_level_encode(std::string_view raw) {
  const auto& t = tables();
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) out += t.spelling[static_cast<unsigned char>(c)];
  return out;
}

std::optional<std::string> byte_level_decode(std::string_view spelled) {
  const auto& t = tables();
  std::string out;
  out.reserve(spelled.size());
  for (std::size_t pos = 0; pos < spelled.size();) {
    const std::size_t len = utf8_char_length(spelled, pos);
    if (len == 0 || len > 2) return std::nullopt;  // the alphabet is all below U+0800
    char32_t cp = static_cast<unsigned char>(spelled[pos]);
    if (len == 2) cp = ((cp & 0x1F) << 6) | (static_cast<unsigned char>(spelled[pos + 1]) & 0x3F);
    if (cp >= t.byte_of.size() || t.byte_of[cp] < 0) return std::nullopt;
    out += static_cast<char>(t.byte_of[cp]);
    pos += len;
  }
  return out;
}

std::size_t utf8_char_length(std::string_view text, std::size_t pos) {
  std::size_t full = 0;
  const std::size_t n = valid_prefix(text, pos, full);
  return (full != 0 && n == full) ? n : 0;
}

std::size_t utf8_invalid_length(std::string_view text, std::size_t pos) {
  std::size_t full = 0;
  const std::size_t n = valid_prefix(text, pos, full);
  return n == 0 ? 1 : n;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    // ASCII runs dominate real text; skip them without the table logic.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const std::size_t len = utf8_char_length(text, pos);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

std::string utf8_lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t len = utf8_char_length(text, pos);
    if (len != 0) {
      out.append(text.substr(pos, len));
      pos += len;
    } else {
      out += "\xEF\xBF\xBD";
      pos += utf8_invalid_length(text, pos);
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace llmft::data
