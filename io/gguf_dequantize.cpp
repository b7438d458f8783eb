// Block decoders for the ggml tensor types. Each decoder turns one block (type_size bytes) into
// block_size fp32 values in the order gguf-py's dequantize produces them, with the same fp32
// operations in the same order, so results are bit-identical. Layouts are little-endian; "f16" is
// an IEEE binary16 scale.
#include "io/gguf_dequantize.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "io/error.h"

// gguf-py multiplies and adds in separate fp32 steps; a fused multiply-add rounds once and can
// differ in the last bit. x86-64 without -mfma never fuses; elsewhere the compiler is told not to.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__) && defined(__FP_FAST_FMAF)
#pragma GCC optimize("fp-contract=off")
#endif

namespace llmft::io {
namespace {

struct KnownType {
  GgmlType type;
  GgmlTypeInfo info;
};

// Block sizes as in ggml (and gguf-py's GGML_QUANT_SIZES). Types listed but not dequantizable can
// still be opened and their bytes read; asking for their values is an error.
constexpr KnownType kKnownTypes[] = {
    {GgmlType::F32, {"F32", 1, 4, true}},
    {GgmlType::F16, {"F16", 1, 2, true}},
    {GgmlType::Q4_0, {"Q4_0", 32, 18, true}},
    {GgmlType::Q4_1, {"Q4_1", 32, 20, true}},
    {GgmlType::Q5_0, {"Q5_0", 32, 22, true}},
    {GgmlType::Q5_1, {"Q5_1", 32, 24, true}},
    {GgmlType::Q8_0, {"Q8_0", 32, 34, true}},
    {GgmlType::Q8_1, {"Q8_1", 32, 40, false}},
    {GgmlType::Q2_K, {"Q2_K", 256, 84, true}},
    {GgmlType::Q3_K, {"Q3_K", 256, 110, true}},
    {GgmlType::Q4_K, {"Q4_K", 256, 144, true}},
    {GgmlType::Q5_K, {"Q5_K", 256, 176, true}},
    {GgmlType::Q6_K, {"Q6_K", 256, 210, true}},
    {GgmlType::Q8_K, {"Q8_K", 256, 292, false}},
    {GgmlType::IQ2_XXS, {"IQ2_XXS", 256, 66, false}},
    {GgmlType::IQ2_XS, {"IQ2_XS", 256, 74, false}},
    {GgmlType::IQ3_XXS, {"IQ3_XXS", 256, 98, false}},
    {GgmlType::IQ1_S, {"IQ1_S", 256, 50, false}},
    {GgmlType::IQ4_NL, {"IQ4_NL", 32, 18, false}},
    {GgmlType::IQ3_S, {"IQ3_S", 256, 110, false}},
    {GgmlType::IQ2_S, {"IQ2_S", 256, 82, false}},
    {GgmlType::IQ4_XS, {"IQ4_XS", 256, 136, false}},
    {GgmlType::I8, {"I8", 1, 1, true}},
    {GgmlType::I16, {"I16", 1, 2, true}},
    {GgmlType::I32, {"I32", 1, 4, true}},
    {GgmlType::I64, {"I64", 1, 8, true}},
    {GgmlType::F64, {"F64", 1, 8, true}},
    {GgmlType::IQ1_M, {"IQ1_M", 256, 56, false}},
    {GgmlType::BF16, {"BF16", 1, 2, true}},
    {GgmlType::TQ1_0, {"TQ1_0", 256, 54, false}},
    {GgmlType::TQ2_0, {"TQ2_0", 256, 66, false}},
    {GgmlType::MXFP4, {"MXFP4", 32, 17, false}},
    {GgmlType::NVFP4, {"NVFP4", 64, 36, false}},
    {GgmlType::Q1_0, {"Q1_0", 128, 18, false}},
};

// Elements one parallel task decodes at least: big enough to amortise scheduling.
constexpr int64_t kGrainElements = 1 << 16;
// fp32 staging per task when writing bf16 (16 KiB, on the stack); a multiple of every block size.
constexpr int64_t kBufferElements = 4096;

uint32_t fp16_bits_to_fp32_bits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return sign | 0x7f800000u | (mantissa << 13);  // inf / NaN, payload kept
  if (exponent != 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa == 0) return sign;
  // Subnormal: mantissa * 2^-24; shift its leading one up to the implicit bit position.
  uint32_t e = 113;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
}

// All 65536 fp16 values widened once (256 KiB): an F16 tensor decodes at table-lookup speed.
const std::array<float, 65536>& fp16_table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (uint32_t h = 0; h < 65536; ++h) {
      const uint32_t bits = fp16_bits_to_fp32_bits(static_cast<uint16_t>(h));
      std::memcpy(&t[h], &bits, sizeof(float));
    }
    return t;
  }();
  return table;
}

template <typename T>
T load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

float load_f16(const uint8_t* p) { return fp16_table()[load<uint16_t>(p)]; }

// ---- 32-element blocks -------------------------------------------------------------------------
// Element j < 16 lives in the low nibble of qs[j], element j + 16 in its high nibble; Q5 types add
// bit j of the 32-bit word qh as the fifth bit.

void decode_q4_0(const uint8_t* b, float* y) {  // f16 d | qs[16]
  const float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void decode_q4_1(const uint8_t* b, float* y) {  // f16 d | f16 m | qs[16]
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 0x0f) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}

void decode_q5_0(const uint8_t* b, float* y) {  // f16 d | u32 qh | qs[16]
  const float d = load_f16(b);
  const uint32_t qh = load<uint32_t>(b + 2);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = d * static_cast<float>(lo - 16);
    y[j + 16] = d * static_cast<float>(hi - 16);
  }
}

void decode_q5_1(const uint8_t* b, float* y) {  // f16 d | f16 m | u32 qh | qs[16]
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint32_t qh = load<uint32_t>(b + 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = d * static_cast<float>(lo) + m;
    y[j + 16] = d * static_cast<float>(hi) + m;
  }
}

void decode_q8_0(const uint8_t* b, float* y) {  // f16 d | int8 qs[32]
  const float d = load_f16(b);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// ---- 256-element K-quant super-blocks ----------------------------------------------------------
// Element e = h * 128 + s * 32 + l (h: half, s: 2-bit shift group, l: 0..31) takes its two low
// bits from byte h * 32 + l of qs, shifted right by 2 * s.

void decode_q2_k(const uint8_t* b, float* y) {  // scales[16] | qs[64] | f16 d | f16 dmin
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = load_f16(b + 80);
  const float dmin = load_f16(b + 82);
  for (int sub = 0; sub < 16; ++sub) {  // 16 sub-blocks of 16 elements, 4-bit scale and min
    const float dl = d * static_cast<float>(scales[sub] & 0x0f);
    const float ml = dmin * static_cast<float>(scales[sub] >> 4);
    for (int i = 0; i < 16; ++i) {
      const int e = sub * 16 + i;
      const int q = (qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      y[e] = dl * static_cast<float>(q) - ml;
    }
  }
}

void decode_q3_k(const uint8_t* b, float* y) {  // hmask[32] | qs[64] | scales[12] | f16 d
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = load_f16(b + 108);
  for (int sub = 0; sub < 16; ++sub) {
    // 6-bit scales: low 4 bits in nibbles of sc[0..8), high 2 bits in 2-bit fields of sc[8..12).
    const int low = sub < 8 ? (sc[sub] & 0x0f) : (sc[sub - 8] >> 4);
    const int high = (sc[8 + sub % 4] >> (2 * (sub / 4))) & 3;
    const float dl = d * static_cast<float>((low | (high << 4)) - 32);
    for (int i = 0; i < 16; ++i) {
      const int e = sub * 16 + i;
      const int q2 = (qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      // The third bit is bit e / 32 of hmask[e % 32]; a clear bit means "subtract 4".
      const int q = q2 - (((hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4);
      y[e] = dl * static_cast<float>(q);
    }
  }
}

// Q4_K/Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min packed in 12 bytes:
// j < 4 in the low 6 bits of bytes j and j + 4; j >= 4 from a nibble of byte j + 4 plus the top two
// bits of bytes j - 4 and j.
void k_scale_min(const uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 0x3f;
    min = s[j + 4] & 0x3f;
  } else {
    scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 2) & 0x30);
    min = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30);
  }
}

void decode_q4_k(const uint8_t* b, float* y) {  // f16 d | f16 dmin | scales[12] | qs[128]
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {  // sub-block j: nibble j % 2 of qs[(j / 2) * 32 + l]
    int scale = 0, min = 0;
    k_scale_min(b + 4, j, scale, min);
    const float dl = d * static_cast<float>(scale);
    const float ml = dmin * static_cast<float>(min);
    const uint8_t* q = qs + (j / 2) * 32;
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) y[j * 32 + l] = dl * static_cast<float>((q[l] >> shift) & 0x0f) - ml;
  }
}

void decode_q5_k(const uint8_t* b, float* y) {  // f16 d | f16 dmin | scales[12] | qh[32] | qs[128]
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {  // fifth bit of element j * 32 + l: bit j of qh[l]
    int scale = 0, min = 0;
    k_scale_min(b + 4, j, scale, min);
    const float dl = d * static_cast<float>(scale);
    const float ml = dmin * static_cast<float>(min);
    const uint8_t* q = qs + (j / 2) * 32;
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      const int v = ((q[l] >> shift) & 0x0f) | (((qh[l] >> j) & 1) << 4);
      y[j * 32 + l] = dl * static_cast<float>(v) - ml;
    }
  }
}

void decode_q6_k(const uint8_t* b, float* y) {  // ql[128] | qh[64] | int8 scales[16] | f16 d
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int sub = 0; sub < 16; ++sub) {
    const float dl = d * static_cast<float>(scales[sub]);
    for (int i = 0; i < 16; ++i) {
      // Element e = h * 128 + r: low 4 bits from nibble r / 64 of ql[h * 64 + r % 64], high 2 bits
      // from qh[h * 32 + e % 32] shifted by 2 * (r / 32).
      const int e = sub * 16 + i;
      const int h = e / 128, r = e % 128;
      const int lo = (ql[h * 64 + r % 64] >> (4 * (r / 64))) & 0x0f;
      const int hi = (qh[h * 32 + e % 32] >> (2 * (r / 32))) & 3;
      y[e] = dl * static_cast<float>((lo | (hi << 4)) - 32);
    }
  }
}

// ---- one element per block ---------------------------------------------------------------------

void decode_f32(const uint8_t* b, float* y) { std::memcpy(y, b, sizeof(float)); }
void decode_f16(const uint8_t* b, float* y) { *y = load_f16(b); }
void decode_bf16(const uint8_t* b, float* y) {  // the top half of an fp32
  const uint32_t bits = static_cast<uint32_t>(load<uint16_t>(b)) << 16;
  std::memcpy(y, &bits, sizeof(float));
}
template <typename T>
void decode_cast(const uint8_t* b, float* y) {  // round to nearest, as numpy's astype(float32)
  *y = static_cast<float>(load<T>(b));
}

// Where decoded values go: fp32 as they are, or bf16 rounded once (to nearest even).
struct Output {
  float* fp32 = nullptr;
  c10::BFloat16* bf16 = nullptr;
};

using BlockDecoder = void (*)(const uint8_t*, float*);

template <BlockDecoder decode>
void decode_blocks(const uint8_t* src, int64_t n_blocks, const GgmlTypeInfo& info, Output out) {
  const int64_t grain = std::max<int64_t>(1, kGrainElements / info.block_size);
  at::parallel_for(0, n_blocks, grain, [&](int64_t begin, int64_t end) {
    if (out.fp32 != nullptr) {
      for (int64_t i = begin; i < end; ++i) decode(src + i * info.type_size, out.fp32 + i * info.block_size);
      return;
    }
    // bf16: decode a few blocks into a small fp32 buffer, then round; no fp32 copy of the tensor.
    std::array<float, kBufferElements> buffer;
    const int64_t blocks_per_buffer = kBufferElements / info.block_size;
    for (int64_t i = begin; i < end; i += blocks_per_buffer) {
      const int64_t n = std::min(blocks_per_buffer, end - i);
      for (int64_t k = 0; k < n; ++k) decode(src + (i + k) * info.type_size, buffer.data() + k * info.block_size);
      c10::BFloat16* dst = out.bf16 + i * info.block_size;
      for (int64_t j = 0; j < n * info.block_size; ++j) dst[j] = c10::BFloat16(buffer[j]);
    }
  });
}

void dequantize(GgmlType type, const uint8_t* src, int64_t numel, Output out, const std::string& what) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (info == nullptr || !info->dequantizable) {
    throw Error(what + ": cannot dequantize tensor type " + ggml_type_name(type) +
                " (supported: F32, F16, BF16, F64, I8, I16, I32, I64, Q4_0, Q4_1, Q5_0, Q5_1, "
                "Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
  }
  if (numel < 0 || numel % info->block_size != 0) {
    throw Error(what + ": " + std::to_string(numel) + " elements is not a whole number of " +
                info->name + " blocks of " + std::to_string(info->block_size));
  }
  const int64_t n_blocks = numel / info->block_size;
  if (n_blocks == 0) return;  // an empty tensor's data pointer may be null
  if (type == GgmlType::F32 && out.fp32 != nullptr) {  // already the output format
    std::memcpy(out.fp32, src, static_cast<std::size_t>(numel) * sizeof(float));
    return;
  }
  switch (type) {
    case GgmlType::F32: return decode_blocks<decode_f32>(src, n_blocks, *info, out);
    case GgmlType::F16: return decode_blocks<decode_f16>(src, n_blocks, *info, out);
    case GgmlType::BF16: return decode_blocks<decode_bf16>(src, n_blocks, *info, out);
    case GgmlType::F64: return decode_blocks<decode_cast<double>>(src, n_blocks, *info, out);
    case GgmlType::I8: return decode_blocks<decode_cast<int8_t>>(src, n_blocks, *info, out);
    case GgmlType::I16: return decode_blocks<decode_cast<int16_t>>(src, n_blocks, *info, out);
    case GgmlType::I32: return decode_blocks<decode_cast<int32_t>>(src, n_blocks, *info, out);
    case GgmlType::I64: return decode_blocks<decode_cast<int64_t>>(src, n_blocks, *info, out);
    case GgmlType::Q4_0: return decode_blocks<decode_q4_0>(src, n_blocks, *info, out);
    case GgmlType::Q4_1: return decode_blocks<decode_q4_1>(src, n_blocks, *info, out);
    case GgmlType::Q5_0: return decode_blocks<decode_q5_0>(src, n_blocks, *info, out);
    case GgmlType::Q5_1: return decode_blocks<decode_q5_1>(src, n_blocks, *info, out);
    case GgmlType::Q8_0: return decode_blocks<decode_q8_0>(src, n_blocks, *info, out);
    case GgmlType::Q2_K: return decode_blocks<decode_q2_k>(src, n_blocks, *info, out);
    case GgmlType::Q3_K: return decode_blocks<decode_q3_k>(src, n_blocks, *info, out);
    case GgmlType::Q4_K: return decode_blocks<decode_q4_k>(src, n_blocks, *info, out);
    case GgmlType::Q5_K: return decode_blocks<decode_q5_k>(src, n_blocks, *info, out);
    case GgmlType::Q6_K: return decode_blocks<decode_q6_k>(src, n_blocks, *info, out);
    default: break;
  }
  throw Error(what + ": no decoder for tensor type " + ggml_type_name(type));
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(GgmlType type) {
  for (const auto& known : kKnownTypes) {
    if (known.type == type) return &known.info;
  }
  return nullptr;
}

float fp16_to_fp32(uint16_t bits) { return fp16_table()[bits]; }

void dequantize_to_fp32(GgmlType type, const uint8_t* src, int64_t numel, float* dst,
                        const std::string& what) {
  dequantize(type, src, numel, Output{dst, nullptr}, what);
}

void dequantize_to_bf16(GgmlType type, const uint8_t* src, int64_t numel, c10::BFloat16* dst,
                        const std::string& what) {
  dequantize(type, src, numel, Output{nullptr, dst}, what);
}

}  // namespace llmft::io
