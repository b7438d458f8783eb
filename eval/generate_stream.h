#pragma once
// Turns generated tokens' raw bytes into text that is safe to print as it arrives: an incomplete
// UTF-8 sequence (a character split across tokens) is held back until it completes, and so is any
// tail that could be the start of a stop string; a stop string ends the text and is never printed.
// What it returns is valid UTF-8 (ill-formed bytes become U+FFFD).
#include <string>
#include <vector>

namespace llmft::eval {

// `bytes` with every ill-formed UTF-8 subpart replaced by U+FFFD (one per maximal subpart), as
// Tokenizer::decode does: a token that is a lone continuation byte prints as U+FFFD.
std::string valid_utf8(const std::string& bytes);

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop_strings = {});

  // Appends one token's bytes; returns the newly printable text (possibly empty). Once a stop
  // string has appeared, stopped() is true and further pushes return nothing.
  std::string push(const std::string& bytes);
  // Everything still held back (at the end of generation), or nothing after a stop string.
  std::string finish();

  bool stopped() const { return stopped_; }
  // The whole text so far, cut before the stop string when one appeared.
  std::string text() const { return valid_utf8(stopped_ ? buffer_.substr(0, stop_at_) : buffer_); }

 private:
  std::vector<std::string> stops_;
  std::string buffer_;          // every byte pushed
  std::size_t emitted_ = 0;     // bytes of buffer_ already returned
  std::size_t stop_at_ = 0;     // where the stop string begins, when stopped_
  bool stopped_ = false;
};

// Bytes at the end of `text` that begin a UTF-8 character whose remaining bytes have not arrived.
std::size_t incomplete_utf8_tail(const std::string& text);

}  // namespace llmft::eval
