#pragma once
// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex: fingerprints dataset files in run.json.
#include <string>
#include <string_view>

namespace llmft::data {

std::string sha256_hex(std::string_view bytes);

}  // namespace llmft::data
