#pragma once
// ggml tensor types: their block layouts and their decoding to fp32.
//
// A ggml tensor is a sequence of blocks along its contiguous dimension; each block stores
// `block_size` elements in `type_size` bytes (F32: 1 element in 4 bytes; Q4_K: 256 elements in
// 144 bytes). Decoding reproduces gguf-py's dequantize element for element (bit-identical fp32),
// so every multiply and add happens in fp32, in the same order, never fused.
#include <cstdint>
#include <string>

#include <c10/util/BFloat16.h>

#include "io/gguf.h"

namespace llmft::io {

struct GgmlTypeInfo {
  const char* name;        // "Q4_K"
  int64_t block_size;      // elements per block
  int64_t type_size;       // bytes per block
  bool dequantizable;      // dequantize_to_fp32 decodes it
};

// The layout of `type`, or nullptr for an id this reader does not know (it cannot size the data).
const GgmlTypeInfo* ggml_type_info(GgmlType type);

// Decodes `numel` elements (a multiple of the block size) from `src` into `dst`, in parallel over
// blocks. `src` holds numel / block_size * type_size bytes. Throws llmft::Error naming `what`
// (e.g. "tensor 'x' in 'model.gguf'") and the type when the type is unknown or not decodable.
void dequantize_to_fp32(GgmlType type, const uint8_t* src, int64_t numel, float* dst,
                        const std::string& what);
// The same values rounded once to bf16 (nearest even), without an fp32 copy of the tensor.
void dequantize_to_bf16(GgmlType type, const uint8_t* src, int64_t numel, c10::BFloat16* dst,
                        const std::string& what);

// IEEE binary16 bits -> fp32, exact for every input (subnormals, infinities, NaN payloads).
float fp16_to_fp32(uint16_t bits);

}  // namespace llmft::io
