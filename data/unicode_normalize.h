#pragma once
// Unicode normalization (NFC) for tokenizer normalizers, through ICU, with the map from each byte
// of the normalized text back to the original text that loss-mask alignment needs.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmft::data {

struct NormalizedText {
  std::string text;
  // origin[i]: offset in the original text of the character run normalized byte i comes from
  // (runs are cut where ICU guarantees a normalization boundary, so each maps as a whole);
  // origin.size() == text.size() + 1, the last entry being the original length.
  std::vector<std::size_t> origin;
};

// NFC of valid UTF-8 `text` (HF tokenizers' NFC normalizer). Throws llmft::Error when ICU fails.
NormalizedText nfc_with_origins(std::string_view text);

}  // namespace llmft::data
