#pragma once
// Little-endian byte strings for hand-built binary files (malformed GGUFs in the tests): put<T>
// appends a value's bytes, str() a GGUF string (uint64 length, then the bytes).
#include <cstdint>
#include <string>

namespace llmft::test {

struct Bytes {
  std::string data;
  template <typename T>
  Bytes& put(T value) {
    data.append(reinterpret_cast<const char*>(&value), sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    data += s;
    return *this;
  }
};

}  // namespace llmft::test
