#include "io/dtype.h"
#include "io/error.h"
#include "tests/support/catch.h"

using namespace llmft::io;

TEST_CASE("dtype names round-trip and sizes match libtorch", "[io][dtype]") {
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16,
                  DType::I8, DType::U8, DType::BOOL}) {
    REQUIRE(dtype_from_name(dtype_name(d)) == d);
    REQUIRE(from_scalar_type(to_scalar_type(d)) == d);
    REQUIRE(dtype_size(d) == c10::elementSize(to_scalar_type(d)));
  }
  REQUIRE_FALSE(dtype_from_name("F8_E4M3").has_value());
}

TEST_CASE("compute dtype parsing names the option on error", "[io][dtype]") {
  REQUIRE(parse_compute_dtype("bf16", "--dtype") == c10::ScalarType::BFloat16);
  REQUIRE(parse_compute_dtype("float32", "--dtype") == c10::ScalarType::Float);
  REQUIRE_THROWS_WITH(parse_compute_dtype("int4", "model.dtype"),
                      llmft::test::Contains("model.dtype") && llmft::test::Contains("int4"));
}
