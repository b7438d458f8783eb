// Dequantization of every supported ggml type, compared bit for bit with gguf-py's dequantize
// (tolerance: none; NaN and signed zeros must match too), on files make_gguf_fixtures.py writes and
// on tensors of the real SmolLM2-135M GGUF.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <ATen/ATen.h>

#include "io/error.h"
#include "io/gguf.h"
#include "io/gguf_dequantize.h"
#include "io/safetensors.h"
#include "tests/support/catch.h"

namespace fs = std::filesystem;
using llmft::io::GgmlType;
using llmft::io::GgufFile;

namespace llmft::test {
// Defined in tests/unit/test_gguf.cpp; each runs make_gguf_fixtures.py once per test process.
fs::path gguf_fixture_dir();  // the synthetic files: <TYPE>.gguf + <TYPE>.expected.safetensors
fs::path smollm2_expected();  // gguf-py's dequantization of a few SmolLM2 tensors
fs::path smollm2_gguf();
}  // namespace llmft::test

namespace {

// Every element identical as fp32 bits (NaN payloads included unless `any_nan` allows any NaN
// for a NaN), and, for the report, the max |difference| where the expected value is finite.
void require_bit_exact(const at::Tensor& got, const at::Tensor& want, const std::string& what,
                       bool any_nan = false) {
  INFO(what);
  REQUIRE(got.scalar_type() == at::kFloat);
  REQUIRE(want.scalar_type() == at::kFloat);
  REQUIRE(got.sizes() == want.sizes());
  const at::Tensor g = got.contiguous();
  const at::Tensor w = want.contiguous();
  at::Tensor differ = g.view(at::kInt).ne(w.view(at::kInt));
  if (any_nan) differ = differ.logical_and(at::logical_not(at::isnan(g).logical_and(at::isnan(w))));
  const int64_t differing = differ.sum().item<int64_t>();
  const at::Tensor finite = at::isfinite(w);
  const double max_abs_diff = (g - w).abs().masked_select(finite).max().item<double>();
  INFO(differing << " of " << w.numel() << " elements differ in their bits; max abs diff " << max_abs_diff);
  CHECK(max_abs_diff == 0.0);
  CHECK(differing == 0);
}

void check_type_file(const std::string& type_name, GgmlType type) {
  const fs::path dir = llmft::test::gguf_fixture_dir();
  const GgufFile file = GgufFile::open(dir / (type_name + ".gguf"));
  const auto expected = llmft::io::SafetensorsFile::open(dir / (type_name + ".expected.safetensors"));
  REQUIRE(file.tensors().size() == 3);
  for (const auto& info : file.tensors()) {
    const std::string what = type_name + " " + info.name;
    CHECK(info.type == type);
    const at::Tensor want = expected.tensor(info.name);
    CHECK(info.torch_shape() == want.sizes().vec());
    require_bit_exact(file.dequantize(info, at::kFloat), want, what);
    // bf16 is the fp32 result rounded once (libtorch's rounding as reference; any NaN for a NaN).
    const at::Tensor bf16 = file.dequantize(info, at::kBFloat16);
    REQUIRE(bf16.scalar_type() == at::kBFloat16);
    require_bit_exact(bf16.to(at::kFloat), want.to(at::kBFloat16).to(at::kFloat), what + " (bf16)", true);
  }
}

std::string dequantize_error(const GgufFile& file, const std::string& tensor) {
  try {
    file.dequantize(*file.find_tensor(tensor), at::kFloat);
  } catch (const llmft::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("GGUF dequantizes float and integer types exactly like gguf-py", "[gguf]") {
  check_type_file("F32", GgmlType::F32);
  check_type_file("F16", GgmlType::F16);
  check_type_file("BF16", GgmlType::BF16);
  check_type_file("F64", GgmlType::F64);
  check_type_file("I8", GgmlType::I8);
  check_type_file("I16", GgmlType::I16);
  check_type_file("I32", GgmlType::I32);
  check_type_file("I64", GgmlType::I64);
}

TEST_CASE("GGUF dequantizes 32-element block types exactly like gguf-py", "[gguf]") {
  check_type_file("Q8_0", GgmlType::Q8_0);
  check_type_file("Q4_0", GgmlType::Q4_0);
  check_type_file("Q4_1", GgmlType::Q4_1);
  check_type_file("Q5_0", GgmlType::Q5_0);
  check_type_file("Q5_1", GgmlType::Q5_1);
}

TEST_CASE("GGUF dequantizes K-quants exactly like gguf-py", "[gguf]") {
  check_type_file("Q2_K", GgmlType::Q2_K);
  check_type_file("Q3_K", GgmlType::Q3_K);
  check_type_file("Q4_K", GgmlType::Q4_K);
  check_type_file("Q5_K", GgmlType::Q5_K);
  check_type_file("Q6_K", GgmlType::Q6_K);
}

TEST_CASE("GGUF dequantizes real SmolLM2 tensors (Q8_0 / Q4_1 / F32) exactly like gguf-py", "[gguf]") {
  const GgufFile file = GgufFile::open(llmft::test::smollm2_gguf());
  const auto expected = llmft::io::SafetensorsFile::open(llmft::test::smollm2_expected());
  for (const std::string name :
       {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight"}) {
    const auto* info = file.find_tensor(name);
    REQUIRE(info != nullptr);
    require_bit_exact(file.dequantize(*info, at::kFloat), expected.tensor(name), name);
    require_bit_exact(file.dequantize(*info, at::kBFloat16).to(at::kFloat),
                      expected.tensor(name).to(at::kBFloat16).to(at::kFloat), name + " (bf16)", true);
  }
}

TEST_CASE("GGUF fp16 widening is exact for all 65536 values", "[gguf]") {
  // Reference: libtorch's own fp16 -> fp32 conversion; NaNs compared as NaN (payloads may differ).
  const at::Tensor bits = at::arange(65536, at::kInt).to(at::kShort);
  const at::Tensor want = bits.view(at::kHalf).to(at::kFloat);
  const auto* raw = reinterpret_cast<const uint16_t*>(bits.data_ptr<int16_t>());
  const float* expected = want.data_ptr<float>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < 65536; ++i) {
    const float got = llmft::io::fp16_to_fp32(raw[i]);
    if (std::isnan(expected[i]) ? !std::isnan(got) : std::memcmp(&got, &expected[i], 4) != 0) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("GGUF type table matches ggml's block sizes", "[gguf]") {
  using llmft::io::ggml_type_info;
  CHECK(ggml_type_info(GgmlType::Q4_K)->block_size == 256);
  CHECK(ggml_type_info(GgmlType::Q4_K)->type_size == 144);
  CHECK(ggml_type_info(GgmlType::Q8_0)->type_size == 34);
  CHECK(ggml_type_info(GgmlType::Q6_K)->type_size == 210);
  CHECK(ggml_type_info(static_cast<GgmlType>(4)) == nullptr);
  CHECK(llmft::io::ggml_type_name(GgmlType::IQ2_XXS) == "IQ2_XXS");
  CHECK(llmft::io::ggml_type_name(static_cast<GgmlType>(77)) == "type 77");
}

TEST_CASE("GGUF unsupported tensor types open but do not dequantize", "[gguf]") {
  // One tensor per type: 256 elements each (one block, or 8 blocks of 32), placed 32-aligned.
  struct Case {
    GgmlType type;
    const char* name;
  };
  const Case cases[] = {{GgmlType::IQ2_XXS, "IQ2_XXS"}, {GgmlType::IQ4_NL, "IQ4_NL"}, {GgmlType::TQ1_0, "TQ1_0"},
                        {GgmlType::Q8_K, "Q8_K"},       {GgmlType::Q8_1, "Q8_1"},     {GgmlType::MXFP4, "MXFP4"}};
  std::string header, data;
  auto put = [&](auto value) { header.append(reinterpret_cast<const char*>(&value), sizeof(value)); };
  put(uint32_t{0x46554747});
  put(uint32_t{3});
  put(uint64_t{std::size(cases)});
  put(uint64_t{0});
  for (const Case& c : cases) {
    const std::string name = std::string("t.") + c.name;
    put(uint64_t{name.size()});
    header += name;
    put(uint32_t{1});
    put(uint64_t{256});
    put(static_cast<uint32_t>(c.type));
    put(uint64_t{data.size()});
    const auto* info = llmft::io::ggml_type_info(c.type);
    data.append(static_cast<std::size_t>(256 / info->block_size * info->type_size), '\0');
    data.resize((data.size() + 31) / 32 * 32, '\0');
  }
  header.resize((header.size() + 31) / 32 * 32, '\0');
  const fs::path path = fs::temp_directory_path() / ("llmft_gguf_unsupported_" + std::to_string(::getpid()) + ".gguf");
  std::ofstream(path, std::ios::binary) << header << data;
  const GgufFile file = GgufFile::open(path);
  for (const Case& c : cases) {
    const std::string tensor = std::string("t.") + c.name;
    INFO(tensor);
    CHECK(file.find_tensor(tensor)->type == c.type);
    const std::string message = dequantize_error(file, tensor);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("'" + tensor + "'") != std::string::npos);
    CHECK(message.find(c.name) != std::string::npos);
    CHECK(message.find("cannot be dequantized") != std::string::npos);
  }
  fs::remove(path);
}
