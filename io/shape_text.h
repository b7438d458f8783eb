#pragma once
// One spelling of a tensor shape in every message: {16, 8} -> "[16, 8]".
#include <string>

#include <c10/util/ArrayRef.h>

namespace llmft::io {

inline std::string shape_text(c10::IntArrayRef shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace llmft::io
