#pragma once
// Catch2 v2 (Debian 12) and v3 (Debian 13) behind one include.
#include <string>

#if LLMFT_CATCH2_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

namespace llmft::test {
// Substring matcher: v2 calls it Matchers::Contains, v3 Matchers::ContainsSubstring (v3's
// Contains matches range elements).
inline auto Contains(const std::string& needle) {
#if LLMFT_CATCH2_V3
  return Catch::Matchers::ContainsSubstring(needle);
#else
  return Catch::Matchers::Contains(needle);
#endif
}
}  // namespace llmft::test
