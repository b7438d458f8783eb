#include "eval/generate_stream.h"

#include <algorithm>

namespace llmft::eval {

std::size_t incomplete_utf8_tail(const std::string& text) {
  // A character is at most 4 bytes: look at the last 3 for a lead byte whose sequence is cut short.
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n); ++back) {
    const auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;  // only continuation bytes (invalid anyway) or nothing: print them
}

std::string valid_utf8(const std::string& bytes) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      out += bytes[i++];
      continue;
    }
    const std::size_t length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                               : lead >= 0xF0 && lead <= 0xF4                                ? 4
                                                                                             : 0;
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // The second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
    const unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    std::size_t j = i + 1;
    while (j < i + length && j < n) {
      const auto byte = static_cast<unsigned char>(bytes[j]);
      const bool ok = j == i + 1 ? byte >= low && byte <= high : (byte & 0xC0) == 0x80;
      if (!ok) break;
      ++j;
    }
    if (j == i + length) {
      out.append(bytes, i, length);
    } else {
      out += kReplacement;
    }
    i = j;
  }
  return out;
}

TextStream::TextStream(std::vector<std::string> stop_strings) {
  for (std::string& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

std::string TextStream::push(const std::string& bytes) {
  if (stopped_) return {};
  const std::size_t before = buffer_.size();
  buffer_ += bytes;
  // A stop string can only newly appear where it overlaps the appended bytes.
  std::size_t first = std::string::npos;
  for (const std::string& stop : stops_) {
    const std::size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
    const std::size_t at = buffer_.find(stop, from);
    if (at != std::string::npos) first = std::min(first, at);
  }
  if (first != std::string::npos) {
    stopped_ = true;
    stop_at_ = first;
    std::string out = first > emitted_ ? buffer_.substr(emitted_, first - emitted_) : std::string();
    emitted_ = buffer_.size();
    return valid_utf8(out);
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  std::size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (std::size_t len = std::min(stop.size() - 1, buffer_.size()); len > hold; --len) {
      if (buffer_.compare(buffer_.size() - len, len, stop, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  std::size_t end = buffer_.size() - hold;
  end -= incomplete_utf8_tail(buffer_.substr(0, end));
  if (end <= emitted_) return {};
  std::string out = buffer_.substr(emitted_, end - emitted_);
  emitted_ = end;
  return valid_utf8(out);
}

std::string TextStream::finish() {
  if (stopped_ || emitted_ >= buffer_.size()) return {};
  std::string out = buffer_.substr(emitted_);
  emitted_ = buffer_.size();
  return valid_utf8(out);
}

}  // namespace llmft::eval
