#pragma once
// The one exception type for user-facing failures. Its message names the file, key, line or tensor
// at fault; cli/main.cpp prints it as a single line and exits with code 2.
#include <stdexcept>
#include <string>

namespace llmft {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace llmft
