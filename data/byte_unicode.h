#pragma once
// Byte-level BPE vocabularies (GPT-2 and its descendants) spell every byte as one printable Unicode
// character, so that a vocabulary of strings can hold arbitrary bytes: the printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves and the other 68 bytes, in increasing order,
// become U+0100, U+0101, ... (space is 'Ġ' U+0120, newline 'Ċ' U+010A).
//
// Also here: the UTF-8 validation both directions of a tokenizer need, with invalid input read the
// way Python's errors="replace" and Rust's from_utf8_lossy read it (one U+FFFD per maximal subpart).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace llmft::data {

// The UTF-8 spelling of byte b (1 or 2 bytes long).
std::string_view byte_spelling(unsigned char b);
// Raw bytes -> their byte-level spelling ("a b" -> "aĠb").
std::string byte_level_encode(std::string_view raw);
// Byte-level spelling -> raw bytes; nullopt when a character is outside the 256-character alphabet
// (or the input is not UTF-8).
std::optional<std::string> byte_level_decode(std::string_view spelled);

// Length of the valid UTF-8 character starting at text[pos], or 0 when the bytes there are not one.
std::size_t utf8_char_length(std::string_view text, std::size_t pos);
// Bytes of the maximal invalid subpart at text[pos] (>= 1); call only where utf8_char_length is 0.
std::size_t utf8_invalid_length(std::string_view text, std::size_t pos);
bool is_valid_utf8(std::string_view text);
// `text` with every maximal invalid subpart replaced by U+FFFD.
std::string utf8_lossy(std::string_view text);
// Appends the UTF-8 encoding of a code point (must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t cp);

}  // namespace llmft::data
